// Small measuring helpers shared by the benchmarks.
import { readFileSync } from "node:fs";
import { SQSClient } from "@aws-sdk/client-sqs";

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A memory figure of a process from /proc/<pid>/status, in MiB: VmHWM is its peak resident set, VmRSS the current one. */
export function procStatusMiB(pid: number | "self", field: "VmHWM" | "VmRSS"): number | null {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : null;
}

/** Peak resident set of this process (VmHWM), in MiB. */
export function peakRssMiB(): number {
  return procStatusMiB("self", "VmHWM") ?? process.memoryUsage().rss / 1048576;
}

/** Runs a helper script of bench/support in its own process; resolves with the first line it prints (its ports). */
export async function spawnHelper(script: string, args: string[], what: string): Promise<{ child: ReturnType<typeof Bun.spawn>; firstLine: string }> {
  const child = Bun.spawn([process.execPath, new URL(script, import.meta.url).pathname, ...args], { stdout: "pipe", stderr: "inherit" });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${what} exited before listening`);
    text += new TextDecoder().decode(value);
  }
  return { child, firstLine: text.trim() };
}

/** The target as if across a network: each answer `delayMs` later (./latency-proxy.ts, its own process). */
export async function startLatencyProxy(target: string, delayMs: number): Promise<{ endpoint: string; stop(): void }> {
  const { child, firstLine } = await spawnHelper("./latency-proxy.ts", [target, String(delayMs)], "latency proxy");
  return { endpoint: `http://127.0.0.1:${Number(firstLine)}`, stop: () => child.kill("SIGTERM") };
}

export async function startFauxqsProcess(): Promise<{ endpoint: string; client: SQSClient; stop(): void }> {
  const { child, firstLine } = await spawnHelper("./fauxqs-server.ts", [], "fauxqs");
  const endpoint = `http://127.0.0.1:${Number(firstLine)}`;
  const client = new SQSClient({ region: "us-east-1", endpoint, credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  return { endpoint, client, stop: () => child.kill("SIGTERM") };
}
