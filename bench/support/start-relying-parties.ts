// The loopback relying parties of ./relying-parties.ts in their own process, for the benchmarks that
// deliver SETs: their webhook URLs, and what they received so far.
import { spawnHelper } from "./measure.ts";

export interface RelyingPartiesProcess {
  urls: string[];
  /** SETs received by all of them. */
  count(): Promise<number>;
  /** [jti, receipt time in epoch ms] of every SET received. */
  received(): Promise<[string, number][]>;
  stop(): void;
}

/** `answerAfterMs`: each webhook answers that long after the request, as one across a network would. */
export async function startRelyingPartiesProcess(count: number, answerAfterMs = 0): Promise<RelyingPartiesProcess> {
  const { child, firstLine } = await spawnHelper("./relying-parties.ts", [String(count), String(answerAfterMs)], "relying parties");
  const ports = JSON.parse(firstLine) as number[];
  const base = `http://127.0.0.1:${ports[0]}`;
  return {
    urls: ports.map((p) => `http://127.0.0.1:${p}/events`),
    count: async () => Number(await (await fetch(`${base}/__count`)).text()),
    received: async () => (await (await fetch(`${base}/__received`)).json()) as [string, number][],
    stop: () => child.kill("SIGTERM"),
  };
}
