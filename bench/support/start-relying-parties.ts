// The loopback relying parties of ./relying-parties.ts in their own process, for the benchmarks that
// deliver SETs: their webhook URLs, and what they received so far.
export interface RelyingPartiesProcess {
  urls: string[];
  /** SETs received by all of them. */
  count(): Promise<number>;
  /** [jti, receipt time in epoch ms] of every SET received. */
  received(): Promise<[string, number][]>;
  stop(): void;
}

export async function startRelyingPartiesProcess(count: number): Promise<RelyingPartiesProcess> {
  const child = Bun.spawn([process.execPath, new URL("./relying-parties.ts", import.meta.url).pathname, String(count)], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("relying parties exited");
    text += new TextDecoder().decode(value);
  }
  const ports = JSON.parse(text.trim()) as number[];
  const base = `http://127.0.0.1:${ports[0]}`;
  return {
    urls: ports.map((p) => `http://127.0.0.1:${p}/events`),
    count: async () => Number(await (await fetch(`${base}/__count`)).text()),
    received: async () => (await (await fetch(`${base}/__received`)).json()) as [string, number][],
    stop: () => child.kill("SIGTERM"),
  };
}
