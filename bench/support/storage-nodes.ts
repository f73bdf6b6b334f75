// Storage nodes for the purge benchmark, in their own process: each verifies the Hawk header and the
// token with the secret (as syncstorage-rs does) and answers 200, optionally after a delay.
// Usage: bun storage-nodes.ts SECRET COUNT DELAY_MS; prints one port per line, then serves until killed.
import { verifyHawkRequest } from "../../test/support/hawk-verify.ts";
import { getDerivedSecret, parseToken } from "../../test/support/tokenlib.ts";

const [secret = "bench", countText = "2", delayText = "0"] = process.argv.slice(2);
const delayMs = Number(delayText);
let rejected = 0;

for (let i = 0; i < Number(countText); i++) {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const now = Date.now() / 1000;
      const hawk = verifyHawkRequest(
        { method: req.method, path: url.pathname, host: req.headers.get("host"), authorization: req.headers.get("authorization") },
        (id) => {
          try {
            parseToken(id, secret, now);
            return getDerivedSecret(id, secret);
          } catch {
            return null; // an invalid token is refused
          }
        },
        { now: Math.floor(now), skewSeconds: 60 },
      );
      if (delayMs > 0) await Bun.sleep(delayMs);
      if (!hawk.ok) {
        rejected += 1;
        return new Response(`rejected ${rejected}`, { status: 401 });
      }
      return new Response(null, { status: 200 });
    },
  });
  console.log(server.port);
}
