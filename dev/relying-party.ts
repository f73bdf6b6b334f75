// A relying party stand-in for event-broker (as the storage node is one for purge-old-records): a
// webhook on loopback that verifies every SET against the broker's /.well-known/jwks.json (fetched when
// a kid is first seen, as a real RP does), checks that it is addressed to it, prints what it received
// and keeps it for the demo. A verified SET is answered 200; anything else 401, so the broker retries.
import { verifySet } from "../test/support/broker.ts";

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
export function startRelyingParty(name: string, clientId: string, jwksUrl: () => string | undefined, out: (line: string) => void): StackRelyingParty {
  const sets: ReceivedSet[] = [];
  let keys = new Map<string, Record<string, unknown>>();

  async function keyFor(kid: string): Promise<Record<string, unknown>> {
    if (!keys.has(kid)) {
      const url = jwksUrl();
      if (!url) throw new Error("the broker's JWKS is not known yet");
      const jwks = (await (await fetch(url)).json()) as { keys: Record<string, unknown>[] };
      keys = new Map(jwks.keys.map((k) => [String(k.kid), k]));
    }
    const key = keys.get(kid);
    if (!key) throw new Error(`kid ${kid} is not in the broker's JWKS`);
    return key;
  }

  async function receive(authorization: string | null): Promise<ReceivedSet> {
    const got: ReceivedSet = { at: Date.now(), verified: "ok", kid: null, aud: null, sub: null, iss: null, jti: null, events: {} };
    try {
      const token = authorization?.match(/^Bearer (.+)$/)?.[1];
      if (!token) throw new Error("no Bearer SET");
      const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as { kid?: string };
      got.kid = header.kid ?? null;
      const { payload } = verifySet(token, await keyFor(header.kid ?? ""));
      Object.assign(got, { aud: payload.aud ?? null, sub: payload.sub ?? null, iss: payload.iss ?? null, jti: payload.jti ?? null, events: payload.events ?? {} });
      if (got.aud !== clientId) throw new Error(`addressed to ${got.aud}, not ${clientId}`);
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
