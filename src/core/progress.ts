// The progress line long-running consumers log every interval and at the end: each count, and the rate
// of the counted outcomes since the previous line (`Account events processed: delete=3 … rate=12.5/s`).
import type { Logger } from "./logger.ts";

export interface ProgressOptions<K extends string> {
  log: Logger;
  /** The line's opening words, e.g. "Account events processed". */
  label: string;
  counts: Record<K, number>;
  /** The keys in the order they are printed. */
  keys: readonly K[];
  /** The keys whose sum makes the rate (default: all of them). */
  rateOf?: readonly K[];
  intervalMs: number;
  now?: () => number;
}

/** Logs the line every `intervalMs`; `stop()` ends the timer and logs a last line. */
export function startProgress<K extends string>(options: ProgressOptions<K>): { stop(): void } {
  const now = options.now ?? Date.now;
  const rateOf = options.rateOf ?? options.keys;
  let last = { at: now(), total: 0 };
  const report = () => {
    const total = rateOf.reduce((sum, k) => sum + options.counts[k], 0);
    const at = now();
    const rate = at > last.at ? ((total - last.total) * 1000) / (at - last.at) : 0;
    if (at > last.at) last = { at, total };
    const list = options.keys.map((k) => `${k}=${options.counts[k]}`).join(" ");
    options.log.info(`${options.label}: ${list} rate=${rate.toFixed(1)}/s`, { ...options.counts, ratePerSecond: Number(rate.toFixed(1)) });
  };
  const timer = setInterval(report, options.intervalMs);
  return {
    stop() {
      clearInterval(timer);
      report();
    },
  };
}
