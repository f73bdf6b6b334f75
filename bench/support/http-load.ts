export {};
// A load generator in its own process: `bun http-load.ts <url> <concurrency> <requests> <warmup> <bodies.json> [<tokens.json>]`
// POSTs the bodies (cycled) with keep-alive from `concurrency` loops (request i with bearer token i mod
// the number of tokens, when a tokens file is given) and prints one JSON line:
// {requests, seconds, rps, p50, p99, statuses}. Latency is per request, client side.
const [url, concurrencyText, requestsText, warmupText, bodiesFile, tokensFile] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const total = Number(requestsText);
const warmup = Number(warmupText);
const bodies = (await Bun.file(bodiesFile!).json()) as string[];
const tokens = tokensFile ? ((await Bun.file(tokensFile).json()) as string[]) : [];
const headerSets = tokens.length ? tokens.map((t) => ({ "content-type": "application/json", authorization: `Bearer ${t}` })) : [{ "content-type": "application/json" }];

async function run(count: number, record: boolean) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        const response = await fetch(url!, { method: "POST", headers: headerSets[i % headerSets.length]!, body: bodies[i % bodies.length] });
        await response.arrayBuffer();
        if (record) {
          latencies.push(performance.now() - t0);
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        }
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies, statuses };
}

await run(warmup, false);
const { seconds, latencies, statuses } = await run(total, true);
latencies.sort((a, b) => a - b);
const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
console.log(JSON.stringify({ requests: total, seconds, rps: total / seconds, p50: at(50), p99: at(99), statuses }));
