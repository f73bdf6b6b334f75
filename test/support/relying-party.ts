// A relying party's webhook on loopback: records every request (headers, body, arrival time) and answers
// what the test scripts: a status sequence, a hold (a promise the test resolves), a redirect, or a body.
// Requests can also verify their SET against a JWKS the RP fetches, as a real RP does.
import { afterAll } from "bun:test";

export interface ReceivedCall {
  authorization: string | null;
  contentType: string | null;
  body: string;
  /** performance.now() at arrival. */
  at: number;
}

export interface RelyingParty {
  url: string;
  port: number;
  calls: ReceivedCall[];
  /** Statuses answered in turn (the last repeats); default [200]. */
  statuses: number[];
  /** Body sent with every answer. */
  answerBody: string;
  /** Extra headers (a Location for redirects). */
  answerHeaders: Record<string, string>;
  /** Answer only after this resolves. */
  gate: Promise<void> | null;
  /** Waiters for the n-th call. */
  waitForCalls(n: number, timeoutMs?: number): Promise<void>;
  reset(): void;
  stop(): Promise<void>;
}

export async function startRelyingParty(): Promise<RelyingParty> {
  const waiters: { n: number; resolve: () => void }[] = [];
  let served = 0;
  const rp: RelyingParty = {
    url: "",
    port: 0,
    calls: [],
    statuses: [200],
    answerBody: "",
    answerHeaders: {},
    gate: null,
    waitForCalls(n, timeoutMs = 20_000) {
      if (rp.calls.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} calls (have ${rp.calls.length})`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    reset() {
      rp.calls.length = 0;
      rp.statuses = [200];
      rp.answerBody = "";
      rp.answerHeaders = {};
      rp.gate = null;
      served = 0;
    },
    stop: async () => server.stop(true),
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const call: ReceivedCall = {
        authorization: request.headers.get("authorization"),
        contentType: request.headers.get("content-type"),
        body: await request.text(),
        at: performance.now(),
      };
      rp.calls.push(call);
      for (const w of waiters.filter((w) => rp.calls.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      if (rp.gate) await rp.gate;
      const status = rp.statuses[Math.min(served, rp.statuses.length - 1)]!;
      served += 1;
      return new Response(status === 204 || status === 304 ? null : rp.answerBody, { status, headers: rp.answerHeaders });
    },
  });
  rp.port = server.port!;
  rp.url = `http://127.0.0.1:${server.port}/events`;
  afterAll(() => rp.stop());
  return rp;
}
