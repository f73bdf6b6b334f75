import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { createMetrics, noopMetrics, statsdLine } from "../../src/core/metrics.ts";

describe("StatsD metrics", () => {
  test("formats counters, gauges and timings with key:value tags", () => {
    expect(statsdLine("tokenserver", "delete", 1, "c")).toBe("tokenserver.delete:1|c");
    expect(statsdLine("tokenserver", "row_failure", 1, "c", { reason: "http_5xx" })).toBe("tokenserver.row_failure:1|c|#reason:http_5xx");
    expect(statsdLine(undefined, "purge.backlog.size", 2, "g")).toBe("purge.backlog.size:2|g");
    expect(statsdLine("p", "t", 12, "ms", { a: "1", b: "2" })).toBe("p.t:12|ms|#a:1,b:2");
  });

  test("sends lines to a real UDP listener", async () => {
    const server = createSocket("udp4");
    const received: string[] = [];
    const got = new Promise<void>((resolve) =>
      server.on("message", (msg) => {
        received.push(msg.toString());
        if (received.length === 2) resolve();
      }),
    );
    await new Promise<void>((r) => server.bind(0, "127.0.0.1", () => r()));
    const metrics = createMetrics({ host: "127.0.0.1", port: server.address().port, prefix: "tokenserver" });
    metrics.incr("decr_generation");
    metrics.gauge("purge.backlog.size", 7);
    await got;
    await metrics.close();
    server.close();
    expect(received.sort()).toEqual(["tokenserver.decr_generation:1|c", "tokenserver.purge.backlog.size:7|g"]);
  });

  test("is a no-op without a host", () => {
    expect(createMetrics({})).toBe(noopMetrics);
  });
});
