// A Metrics implementation that records calls, for asserting which counters a tool emits.
// (The StatsD wire format itself is tested against a real UDP socket in test/core/metrics.test.ts.)
import type { Metrics, Tags } from "../../src/core/metrics.ts";

export interface RecordedMetric {
  kind: "incr" | "gauge" | "timing";
  name: string;
  value: number;
  tags?: Tags;
}

export function recordingMetrics(): Metrics & { calls: RecordedMetric[]; count(name: string, tags?: Tags): number } {
  const calls: RecordedMetric[] = [];
  return {
    calls,
    incr: (name, value = 1, tags) => void calls.push({ kind: "incr", name, value, tags }),
    gauge: (name, value, tags) => void calls.push({ kind: "gauge", name, value, tags }),
    timing: (name, value, tags) => void calls.push({ kind: "timing", name, value, tags }),
    close: async () => {},
    count: (name, tags) =>
      calls
        .filter((c) => c.kind === "incr" && c.name === name && (!tags || JSON.stringify(c.tags) === JSON.stringify(tags)))
        .reduce((sum, c) => sum + c.value, 0),
  };
}
