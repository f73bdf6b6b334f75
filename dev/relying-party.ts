// A relying party stand-in for event-broker (as the storage node is one for purge-old-records): a
// webhook on loopback that verifies every SET with the relying parties' verifier (src/secevent: the
// broker's /.well-known/jwks.json fetched when a kid is first seen, signature, issuer and audience),
// prints what it received and keeps it for the demo. A verified SET is answered 200; anything else 401,
// so the broker retries.
import { createLogger } from "../src/core/logger.ts";
import { createJwksCache, type JwksCache } from "../src/secevent/jwks.ts";
import { verifySet } from "../src/secevent/verify.ts";

export interface ReceivedSet {
  at: number;
  /** "ok", or why the SET was refused. */
  verified: string;
  kid: string | null;
  aud: string | null;
  sub: string | null;
  iss: string | null;
  jti: string | null;
  /** Event URI → payload. */
  events: Record<string, unknown>;
}

export interface StackRelyingParty {
  name: string;
  clientId: string;
  url: string;
  sets(): ReceivedSet[];
  stop(): Promise<void>;
}

const KEEP = 500;
const short = (uri: string) => uri.replace(/^.*\/event\//, "");

/** `jwksUrl` is read when a SET arrives: the broker picks its port after the relying parties start. */
export function startRelyingParty(name: string, clientId: string, issuer: string, jwksUrl: () => string | undefined, out: (line: string) => void): StackRelyingParty {
  const sets: ReceivedSet[] = [];
  let keys: JwksCache | undefined;
  const log = createLogger({ name, level: "warn", format: "pretty", write: (line) => out(`[${name}] ${line}`) });

  async function receive(authorization: string | null): Promise<ReceivedSet> {
    const got: ReceivedSet = { at: Date.now(), verified: "ok", kid: null, aud: null, sub: null, iss: null, jti: null, events: {} };
    try {
      const token = authorization?.match(/^Bearer (.+)$/)?.[1];
      if (!token) throw new Error("no Bearer SET");
      const claims = (part: number) => JSON.parse(Buffer.from(token.split(".")[part] ?? "", "base64url").toString() || "{}");
      // Read before verifying, so a refused SET still shows what it claimed.
      const payload = claims(1);
      Object.assign(got, { kid: claims(0).kid ?? null, aud: payload.aud ?? null, sub: payload.sub ?? null, iss: payload.iss ?? null, jti: payload.jti ?? null, events: payload.events ?? {} });
      const url = jwksUrl();
      if (!url) throw new Error("the broker's JWKS is not known yet");
      keys ??= createJwksCache({ url, log });
      await verifySet(token, { keys, issuer, audience: clientId });
    } catch (error) {
      got.verified = (error as Error).message;
    }
    return got;
  }

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (req.method !== "POST") return new Response(null, { status: 405 });
      const got = await receive(req.headers.get("authorization"));
      sets.push(got);
      if (sets.length > KEEP) sets.shift();
      const events = Object.keys(got.events).map(short).join(",") || "(none)";
      out(`[${name}] SET ${events} for ${got.sub} (aud ${got.aud}, jti ${got.jti}): ${got.verified === "ok" ? `signature verified with kid ${got.kid}` : `REFUSED: ${got.verified}`}`);
      return new Response(null, { status: got.verified === "ok" ? 200 : 401 });
    },
  });
  return { name, clientId, url: `http://127.0.0.1:${server.port}/events`, sets: () => [...sets], stop: () => server.stop(true) };
}
