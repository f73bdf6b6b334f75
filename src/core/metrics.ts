// StatsD metrics over UDP (DogStatsD tag syntax `|#key:value`). A no-op when no host is configured,
// so tools never need to check whether metrics are on.
import { createSocket, type Socket } from "node:dgram";

export type Tags = Record<string, string>;

export interface Metrics {
  incr(name: string, value?: number, tags?: Tags): void;
  gauge(name: string, value: number, tags?: Tags): void;
  timing(name: string, ms: number, tags?: Tags): void;
  close(): Promise<void>;
}

export const noopMetrics: Metrics = {
  incr() {},
  gauge() {},
  timing() {},
  close: async () => {},
};

export interface StatsdOptions {
  host: string;
  port: number;
  /** Prepended with a dot, e.g. `tokenserver` → `tokenserver.delete`. */
  prefix?: string;
}

/** Formats one StatsD line; exported so the wire format can be tested on its own. */
export function statsdLine(prefix: string | undefined, name: string, value: number, type: "c" | "g" | "ms", tags?: Tags): string {
  const fullName = prefix ? `${prefix}.${name}` : name;
  const tagList = tags ? Object.entries(tags).map(([k, v]) => `${k}:${v}`) : [];
  return `${fullName}:${value}|${type}${tagList.length ? `|#${tagList.join(",")}` : ""}`;
}

export function createStatsdMetrics(options: StatsdOptions): Metrics {
  const socket: Socket = createSocket(options.host.includes(":") ? "udp6" : "udp4");
  socket.unref();
  // Metrics must never take a tool down: a send error (no route, ICMP refusal) is dropped on purpose.
  socket.on("error", () => {});
  const send = (line: string) => socket.send(line, options.port, options.host, () => {});
  return {
    incr: (name, value = 1, tags) => send(statsdLine(options.prefix, name, value, "c", tags)),
    gauge: (name, value, tags) => send(statsdLine(options.prefix, name, value, "g", tags)),
    timing: (name, ms, tags) => send(statsdLine(options.prefix, name, ms, "ms", tags)),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

export function createMetrics(options: { host?: string; port?: number; prefix?: string }): Metrics {
  if (!options.host) return noopMetrics;
  return createStatsdMetrics({ host: options.host, port: options.port ?? 8125, prefix: options.prefix });
}
