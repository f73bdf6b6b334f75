// Timing operator console pages over HTTP as a signed-in operator: sign in once, then for each page a few
// warm-up requests and `samples` sequential ones (client side, keep-alive); median and p99 against the
// 100 ms target (issue 15). A tool's section in bench/console.ts seeds its data, starts its app and hands
// its list of pages here.

export const CONSOLE_TARGET_MS = 100;

export interface ConsolePage {
  name: string;
  /** Path and query, e.g. "/console/deliveries?status=dead". */
  path: string;
}

export interface PageTiming extends ConsolePage {
  status: number;
  bytes: number;
  median: number;
  p99: number;
  pass: boolean;
}

/** Signs in through the login form and returns the session cookie ("name=value"). */
export async function signInForBench(baseUrl: string, token: string, operator = "bench"): Promise<string> {
  const res = await fetch(`${baseUrl}/console/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ operator, token }).toString(),
  });
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (res.status !== 303 || !cookie) throw new Error(`console sign-in failed: HTTP ${res.status}`);
  return cookie;
}

export async function timeConsolePages(baseUrl: string, cookie: string, pages: readonly ConsolePage[], options: { samples?: number; warmup?: number } = {}): Promise<PageTiming[]> {
  const samples = options.samples ?? 30;
  const warmup = options.warmup ?? 3;
  const out: PageTiming[] = [];
  for (const page of pages) {
    const latencies: number[] = [];
    let status = 0;
    let bytes = 0;
    for (let i = 0; i < warmup + samples; i++) {
      const t0 = performance.now();
      const res = await fetch(baseUrl + page.path, { headers: { cookie, accept: "text/html" }, redirect: "manual" });
      const body = await res.arrayBuffer();
      if (i >= warmup) latencies.push(performance.now() - t0);
      status = res.status;
      bytes = body.byteLength;
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)]!;
    out.push({ ...page, status, bytes, median, p99, pass: status === 200 && p99 < CONSOLE_TARGET_MS });
  }
  return out;
}

export function printTimings(title: string, timings: readonly PageTiming[]): boolean {
  console.log(title);
  const width = Math.max(...timings.map((t) => t.name.length));
  for (const t of timings) {
    console.log(
      `  ${t.name.padEnd(width)}  HTTP ${t.status}  ${String(Math.round(t.bytes / 1024)).padStart(4)} KiB  median ${t.median.toFixed(1).padStart(6)} ms  p99 ${t.p99.toFixed(1).padStart(6)} ms  ${t.pass ? "PASS" : "FAIL"} (< ${CONSOLE_TARGET_MS} ms)`,
    );
  }
  return timings.every((t) => t.pass);
}
