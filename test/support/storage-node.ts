// A storage node on loopback that checks every request the way syncstorage-rs does: the Hawk header
// (host and port from the Host header) and the token (signature and expiry) with the shared secret.
// Behaviour per uid can be scripted: a status sequence, a hold (a promise the test resolves), or a
// shared default. `url` is what goes into the nodes table.
import { afterAll } from "bun:test";
import { verifyHawkRequest, type HawkVerifyResult } from "./hawk-verify.ts";
import { getDerivedSecret, parseToken, type TokenPayload } from "./tokenlib.ts";

export interface RecordedDelete {
  method: string;
  path: string;
  host: string | null;
  uid: string | null;
  hawk: HawkVerifyResult;
  token: TokenPayload | null;
  status: number;
}

export interface StorageNode {
  url: string;
  port: number;
  requests: RecordedDelete[];
  /** Statuses answered in turn for a uid (the last one repeats). */
  script(uid: bigint | string, statuses: number[]): void;
  /** Answer every request after `gate` resolves (a slow node the test controls). */
  hold(gate: Promise<void> | null): void;
  /** Answer every request after a real delay (benchmarks only). */
  delayMs: number;
  defaultStatus: number;
  /** Forgets requests, scripts and holds (between tests). */
  reset(): void;
  stop(): Promise<void>;
}

export async function startStorageNode(secret: string, options: { register?: boolean } = {}): Promise<StorageNode> {
  const scripts = new Map<string, number[]>();
  let gate: Promise<void> | null = null;
  const node: StorageNode = {
    url: "",
    port: 0,
    requests: [],
    delayMs: 0,
    defaultStatus: 200,
    script: (uid, statuses) => void scripts.set(String(uid), [...statuses]),
    hold: (g) => void (gate = g),
    reset() {
      node.requests.length = 0;
      scripts.clear();
      gate = null;
      node.defaultStatus = 200;
      node.delayMs = 0;
    },
    stop: async () => server.stop(true),
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname + url.search;
      const nowSeconds = Date.now() / 1000;
      let token: TokenPayload | null = null;
      const hawk = verifyHawkRequest(
        { method: req.method, path, host: req.headers.get("host"), authorization: req.headers.get("authorization") },
        (id) => {
          try {
            token = parseToken(id, secret, nowSeconds);
            return getDerivedSecret(id, secret);
          } catch {
            return null; // bad signature or expired: the node refuses it
          }
        },
        { now: Math.floor(nowSeconds), skewSeconds: 60 },
      );
      const uid = /^\/1\.5\/(\d+)$/.exec(url.pathname)?.[1] ?? null;
      if (gate) await gate;
      if (node.delayMs > 0) await Bun.sleep(node.delayMs);
      let status = hawk.ok ? node.defaultStatus : 401;
      const script = uid ? scripts.get(uid) : undefined;
      if (hawk.ok && script && script.length > 0) status = script.length > 1 ? script.shift()! : script[0]!;
      node.requests.push({ method: req.method, path, host: req.headers.get("host"), uid, hawk, token, status });
      return new Response(null, { status });
    },
  });
  node.port = server.port!;
  node.url = `http://127.0.0.1:${server.port}`;
  if (options.register !== false) afterAll(() => server.stop(true));
  return node;
}
