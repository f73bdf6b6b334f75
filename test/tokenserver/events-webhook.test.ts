// `process-account-events serve` in process: SETs signed with the broker's real signing code and the
// vectors' key, a real JWKS server on loopback, the webhook served on port 0 and real PostgreSQL. Both
// delivery formats, replays, every refusal (its RFC 8935 code, and not one row changed), generated
// hostile tokens, and the JWKS cache's refetch on a rotated kid, at most once a minute by an injected clock.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { loadSigningKey, signJws, signSet, setClaims, type SigningKey } from "../../src/broker/set.ts";
import { serve } from "../../src/http/serve.ts";
import { createJwksCache, type JwksCache } from "../../src/secevent/jwks.ts";
import { EVENT_URIS } from "../../src/secevent/event-uris.ts";
import { createEventsWebhookApp, SET_CONTENT_TYPE } from "../../src/tokenserver/events-webhook.ts";
import { MAX_GENERATION } from "../../src/tokenserver/types.ts";
import { keys } from "../support/broker.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { createTokenserverTestDb } from "../support/tokenserver.ts";

const db = await createTokenserverTestDb();
const ISSUER = "https://accounts.firefox.com";
const AUDIENCE = "5882386c6d801776";
const DOMAIN = "api.accounts.firefox.com";
const UID = "0123456789abcdef0123456789abcdef";
const EMAIL = `${UID}@${DOMAIN}`;

/** A fresh RSA key the broker could rotate to (or a forger could hold), as a SigningKey. */
async function newKey(kid: string): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]);
  return await loadSigningKey({ ...(await crypto.subtle.exportKey("jwk", pair.privateKey)), kid });
}

const brokerKey = await loadSigningKey(keys().privateJwk);
const rotatedKey = await newKey("2026-rotated");
// The broker's kid with another key: a forged signature.
const forgerKey = await newKey(brokerKey.kid!);

// The broker's JWKS on loopback; tests change what it publishes.
let published: Record<string, unknown>[] = [brokerKey.publicJwk];
let jwksStatus = 200;
const jwksServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(JSON.stringify({ keys: published }), { status: jwksStatus }) });
const JWKS_URL = `http://127.0.0.1:${jwksServer.port}/.well-known/jwks.json`;

let now = 1_700_000_000_000;
let jwks: JwksCache;
let metrics = recordingMetrics();
const captured = captureLog("debug");
let app: ReturnType<typeof createEventsWebhookApp>;

const server = serve(
  { fetch: (request, env) => app.fetch(request, env) },
  { port: 0, hostname: "127.0.0.1" },
);
const URL_EVENTS = `http://127.0.0.1:${server.port}/v1/events`;
afterAll(async () => {
  await server.stop(true);
  await jwksServer.stop(true);
});

beforeEach(async () => {
  await db.reset();
  published = [brokerKey.publicJwk];
  jwksStatus = 200;
  metrics = recordingMetrics();
  captured.clear();
  jwks = createJwksCache({ url: JWKS_URL, log: captured.log, clock: () => now });
  app = createEventsWebhookApp({ sql: db.sql, repo: db.repo, log: captured.log, metrics, keys: jwks, issuer: ISSUER, audience: AUDIENCE, domain: DOMAIN, version: { build: "", commit: "", source: "", version: "test" } });
  await db.repo.allocateUser(EMAIL, { generation: 100n });
  await db.repo.allocateUser(`another@${DOMAIN}`, { generation: 100n });
});

/** A SET as the broker signs it for a fan-out message (src/broker/set.ts). */
const brokerSet = (json: Record<string, unknown>, options: { key?: SigningKey; clientId?: string; issuer?: string; jti?: string } = {}) =>
  signSet(options.key ?? brokerKey, { clientId: options.clientId ?? AUDIENCE, json: { uid: UID, ...json }, issuedAtMs: now, jti: options.jti ?? crypto.randomUUID(), issuer: options.issuer ?? ISSUER });

type Style = "bearer" | "rfc8935";
const STYLES: Style[] = ["bearer", "rfc8935"];

/** What src/broker/webhook-call.ts sends in each format. */
function post(token: string, style: Style): Promise<Response> {
  return fetch(URL_EVENTS, style === "rfc8935"
    ? { method: "POST", body: token, headers: { "content-type": SET_CONTENT_TYPE, accept: "application/json" } }
    : { method: "POST", headers: { authorization: `Bearer ${token}` } });
}

/** Every column of every row, as text: what "nothing changed" compares. */
async function snapshot(): Promise<string> {
  const rows = await db.sql`select * from users order by uid`;
  return JSON.stringify(rows, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

const userRow = async (email = EMAIL) => (await db.sql<{ generation: bigint; replaced_at: bigint | null }[]>`select generation, replaced_at from users where email = ${email} order by uid desc limit 1`)[0]!;

describe("accepted SETs", () => {
  for (const style of STYLES) {
    test(`${style}: delete-user retires the user (${style === "bearer" ? 200 : 202})`, async () => {
      const response = await post(await brokerSet({ event: "delete" }), style);
      expect(response.status).toBe(style === "bearer" ? 200 : 202);
      expect(await response.text()).toBe("");
      const row = await userRow();
      expect(row.generation).toBe(MAX_GENERATION);
      expect(row.replaced_at).not.toBeNull();
      expect((await userRow(`another@${DOMAIN}`)).generation).toBe(100n);
      expect(metrics.count("delete")).toBe(1);
      expect(metrics.count("set.accepted", { style })).toBe(1);
    });

    test(`${style}: password-change sets the generation to changeTime - 1, as an SQS passwordChange would`, async () => {
      const response = await post(await brokerSet({ event: "passwordChange", changeTime: 1_700_000_123_456 }), style);
      expect(response.status).toBe(style === "bearer" ? 200 : 202);
      expect(await userRow()).toEqual({ generation: 1_700_000_123_455n, replaced_at: null });
      expect(metrics.count("passwordChange")).toBe(1);
      expect(metrics.count("decr_generation")).toBe(1);
    });
  }

  test("a reset reaches the tokenserver as password-change (the broker maps it) and moves the generation", async () => {
    const token = await brokerSet({ event: "reset", changeTime: 500_000 });
    expect(Object.keys((await setClaims({ clientId: AUDIENCE, json: { event: "reset", uid: UID, changeTime: 500_000 }, issuedAtMs: now, jti: "j", issuer: ISSUER })).events as object)).toEqual([EVENT_URIS.password]);
    expect((await post(token, "rfc8935")).status).toBe(202);
    expect((await userRow()).generation).toBe(499_999n);
  });

  test("a fractional changeTime (the broker's ts * 1000) keeps whole milliseconds", async () => {
    expect((await post(await brokerSet({ event: "passwordChange", changeTime: 1_700_000_000_123.4 }), "bearer")).status).toBe(200);
    expect((await userRow()).generation).toBe(1_700_000_000_122n);
  });

  test("events that are not the tokenserver's are acknowledged and change nothing (the broker would retry a refusal)", async () => {
    const before = await snapshot();
    const response = await post(await brokerSet({ event: "profileDataChange", locale: "de" }), "rfc8935");
    expect(response.status).toBe(202);
    expect(await snapshot()).toBe(before);
    expect(metrics.count("unknown")).toBe(1);
  });

  test("a user the tokenserver does not know: acknowledged, nothing written", async () => {
    const before = await snapshot();
    const token = await signJws(brokerKey, { aud: AUDIENCE, events: { [EVENT_URIS.password]: { changeTime: 5 } }, iat: now / 1000, jti: "x", sub: "ffffffffffffffffffffffffffffffff", iss: ISSUER });
    expect((await post(token, "bearer")).status).toBe(200);
    expect(await snapshot()).toBe(before);
  });
});

describe("replays", () => {
  test("the same SET (same jti) again, in either format, changes nothing", async () => {
    for (const json of [{ event: "passwordChange", changeTime: 9_000 }, { event: "delete" }]) {
      const token = await brokerSet(json, { jti: "49aecf83-388f-4c20-9f63-f3be891a6755" });
      expect((await post(token, "bearer")).status).toBe(200);
      const after = await snapshot();
      for (const style of STYLES) {
        expect((await post(token, style)).status).toBe(style === "bearer" ? 200 : 202);
        expect(await snapshot()).toBe(after);
      }
    }
  });

  test("an older password-change replayed after a newer one does not move the generation back", async () => {
    const older = await brokerSet({ event: "passwordChange", changeTime: 2_000 });
    await post(older, "bearer");
    await post(await brokerSet({ event: "passwordChange", changeTime: 3_000 }), "bearer");
    const after = await snapshot();
    expect((await post(older, "rfc8935")).status).toBe(202);
    expect(await snapshot()).toBe(after);
    expect((await userRow()).generation).toBe(2_999n);
  });
});

describe("refusals: the RFC 8935 code, and nothing written", () => {
  /** Bearer: the token is the credential, so one that is not the broker's is RFC 6750's 401. */
  const statusFor = (err: string, style: Style) => (style === "bearer" && err !== "invalid_request" ? 401 : 400);

  async function expectRefused(token: string, err: string, style: Style, descriptionPart?: string) {
    const before = await snapshot();
    const response = await post(token, style);
    expect(response.status).toBe(statusFor(err, style));
    expect(response.headers.get("content-type")).toBe("application/json");
    const body = (await response.json()) as { err: string; description: string };
    expect(body.err).toBe(err);
    expect(typeof body.description).toBe("string");
    if (descriptionPart) expect(body.description).toContain(descriptionPart);
    if (response.status === 401) expect(response.headers.get("www-authenticate")).toStartWith('Bearer error="invalid_token"');
    expect(await snapshot()).toBe(before);
  }

  const resign = (token: string, edit: (claims: Record<string, unknown>) => void, key = brokerKey) => {
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    edit(claims);
    return signJws(key, claims);
  };
  const part = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

  const cases: [string, string, () => Promise<string>, string?][] = [
    ["a forged signature (the broker's kid, another key)", "authentication_failed", () => brokerSet({ event: "delete" }, { key: forgerKey })],
    ["a payload changed after signing", "authentication_failed", async () => {
      const [h, , s] = (await brokerSet({ event: "passwordChange", changeTime: 10 })).split(".");
      return `${h}.${part({ aud: AUDIENCE, events: { [EVENT_URIS.delete]: {} }, iat: 1, jti: "j", sub: UID, iss: ISSUER })}.${s}`;
    }],
    ["a kid the broker does not publish", "invalid_key", () => brokerSet({ event: "delete" }, { key: rotatedKey }), "2026-rotated"],
    ["no kid in the header", "invalid_key", async () => {
      const token = await brokerSet({ event: "delete" });
      const unsigned = `${part({ alg: "RS256" })}.${token.split(".")[1]}`;
      const signature = await crypto.subtle.sign({ name: "RSASSA-PKCS1-v1_5" }, brokerKey.privateKey, new TextEncoder().encode(unsigned));
      return `${unsigned}.${Buffer.from(signature).toString("base64url")}`;
    }],
    ["another issuer", "invalid_issuer", () => brokerSet({ event: "delete" }, { issuer: "https://evil.example" }), "https://evil.example"],
    ["another relying party's SET", "invalid_audience", () => brokerSet({ event: "delete" }, { clientId: "e6eb0d1e856335fc" }), "e6eb0d1e856335fc"],
    ["alg none", "invalid_request", async () => `${part({ alg: "none", kid: brokerKey.kid })}.${(await brokerSet({ event: "delete" })).split(".")[1]}.`],
    ["alg HS256", "invalid_request", async () => `${part({ alg: "HS256", kid: brokerKey.kid })}.${(await brokerSet({ event: "delete" })).split(".")[1]}.c2ln`],
    ["a crit header", "invalid_request", async () => `${part({ alg: "RS256", kid: brokerKey.kid, crit: ["exp"] })}.${part({})}.c2ln`],
    ["not a JWS", "invalid_request", async () => "not-a-jwt"],
    ["four parts", "invalid_request", async () => `${await brokerSet({ event: "delete" })}.eA`],
    ["a header that is not JSON", "invalid_request", async () => `${part("{nope")}.${part({})}.c2ln`],
    ["a header that is a JSON array", "invalid_request", async () => `${part([1])}.${part({})}.c2ln`],
    ["a signed payload that is not JSON", "invalid_request", async () => {
      const unsigned = `${part({ alg: "RS256", kid: brokerKey.kid })}.${part("not json")}`;
      const signature = await crypto.subtle.sign({ name: "RSASSA-PKCS1-v1_5" }, brokerKey.privateKey, new TextEncoder().encode(unsigned));
      return `${unsigned}.${Buffer.from(signature).toString("base64url")}`;
    }],
    ["no jti", "invalid_request", async () => resign(await brokerSet({ event: "delete" }), (c) => delete c.jti), "jti"],
    ["no events", "invalid_request", async () => resign(await brokerSet({ event: "delete" }), (c) => (c.events = {})), "events"],
    ["a sub that would name another account's email", "invalid_request", async () => resign(await brokerSet({ event: "delete" }), (c) => (c.sub = `x@${DOMAIN}`)), "sub"],
    ["no sub", "invalid_request", async () => resign(await brokerSet({ event: "delete" }), (c) => delete c.sub), "sub"],
    ["password-change without changeTime", "invalid_request", () => brokerSet({ event: "passwordChange" }), "changeTime"],
    ["password-change with a text changeTime", "invalid_request", async () => resign(await brokerSet({ event: "passwordChange", changeTime: 1 }), (c) => (c.events = { [EVENT_URIS.password]: { changeTime: "43" } })), "changeTime"],
    ["a delete and a bad password-change in one SET: neither applied", "invalid_request", async () =>
      resign(await brokerSet({ event: "delete" }), (c) => (c.events = { [EVENT_URIS.delete]: {}, [EVENT_URIS.password]: { changeTime: null } })), "changeTime"],
  ];

  for (const style of STYLES) {
    for (const [name, err, make, descriptionPart] of cases) {
      test(`${style}: ${name} → ${err}`, async () => {
        await expectRefused(await make(), err, style, descriptionPart);
        expect(metrics.count("set.refused", { err, style })).toBe(1);
        expect(captured.lines.some((l) => l.msg === "SET refused" && l.fields.err === err)).toBe(true);
      });
    }
  }

  // In a header this long a token is refused by the HTTP server itself (431), before the tool sees it.
  test("rfc8935: a body over 16 KiB → invalid_request", async () => {
    await expectRefused(`${part({ alg: "RS256", kid: "k".repeat(20_000) })}.${part({})}.c2ln`, "invalid_request", "rfc8935", "16384 bytes");
  });

  test("a key rotated away: the broker's old key stops verifying once the JWKS no longer lists it", async () => {
    const old = await brokerSet({ event: "delete" });
    published = [rotatedKey.publicJwk];
    // The new kid makes the cache fetch the JWKS again, which drops the old key.
    expect((await post(await brokerSet({ event: "passwordChange", changeTime: 7_000 }, { key: rotatedKey }), "bearer")).status).toBe(200);
    for (const style of STYLES) await expectRefused(old, "invalid_key", style, brokerKey.kid);
    expect((await userRow()).generation).toBe(6_999n);
  });

  test("no SET in the request (no Bearer header, another content type) → invalid_request", async () => {
    const before = await snapshot();
    const requests: RequestInit[] = [{ method: "POST" }, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }, { method: "POST", headers: { authorization: "Basic eDp5" } }];
    for (const init of requests) {
      const response = await fetch(URL_EVENTS, init);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { err: string }).err).toBe("invalid_request");
    }
    expect(await snapshot()).toBe(before);
  });

  test("generated hostile tokens: every mutation of a valid SET is refused with a 4xx and an RFC 8935 code, nothing written", async () => {
    const random = seededRandom(8935);
    const valid = await brokerSet({ event: "delete" });
    // A header cannot carry NUL or non-Latin-1 text (fetch refuses it), so only bodies get those.
    const alphabets = { bearer: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"", rfc8935: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u0000\u00e9\u2028{}\"" };
    const before = await snapshot();
    const codes = new Set(["invalid_request", "invalid_key", "invalid_issuer", "invalid_audience", "authentication_failed"]);
    for (let i = 0; i < 120; i++) {
      const style: Style = i % 2 === 0 ? "rfc8935" : "bearer";
      const alphabet = alphabets[style];
      const chars = [...valid];
      for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
        const at = Math.floor(random() * chars.length);
        const pick = alphabet[Math.floor(random() * alphabet.length)]!;
        const op = random();
        if (op < 0.4) chars[at] = pick;
        else if (op < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, pick);
      }
      const token = chars.join("");
      if (token === valid) continue;
      const response = await post(token, style);
      const body = (await response.json()) as { err: string };
      expect([400, 401]).toContain(response.status);
      expect(codes.has(body.err)).toBe(true);
    }
    expect(await snapshot()).toBe(before);
  });
});

describe("the broker's JWKS", () => {
  test("fetched once, refetched for an unknown kid at most once a minute (injected clock)", async () => {
    expect((await post(await brokerSet({ event: "passwordChange", changeTime: 1_000 }), "bearer")).status).toBe(200);
    expect(jwks.fetches).toBe(1);
    expect((await post(await brokerSet({ event: "passwordChange", changeTime: 2_000 }), "bearer")).status).toBe(200);
    expect(jwks.fetches).toBe(1); // a known kid: no fetch

    // The broker rotates; its first SET with the new kid comes 10 s after the last fetch: not refetched yet.
    published = [brokerKey.publicJwk, rotatedKey.publicJwk];
    now += 10_000;
    const rotated = await brokerSet({ event: "passwordChange", changeTime: 3_000 }, { key: rotatedKey });
    const refused = await post(rotated, "rfc8935");
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { err: string }).err).toBe("invalid_key");
    expect(jwks.fetches).toBe(1);
    expect((await userRow()).generation).toBe(1_999n);

    // A minute after the last fetch, the same SET (the broker retries) makes one fetch and is applied.
    now += 50_000;
    expect((await post(rotated, "rfc8935")).status).toBe(202);
    expect(jwks.fetches).toBe(2);
    expect((await userRow()).generation).toBe(2_999n);

    // A flood of made-up kids within the minute: still no further fetch.
    for (let i = 0; i < 5; i++) expect((await post(await brokerSet({ event: "delete" }, { key: await newKey(`made-up-${i}`) }), "bearer")).status).toBe(401);
    expect(jwks.fetches).toBe(2);
    expect((await userRow()).replaced_at).toBeNull();
  });

  test("concurrent SETs with a new kid share one fetch", async () => {
    const tokens = await Promise.all([1, 2, 3, 4].map((i) => brokerSet({ event: "passwordChange", changeTime: i * 1_000 })));
    const statuses = await Promise.all(tokens.map((t) => post(t, "bearer").then((r) => r.status)));
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(jwks.fetches).toBe(1);
    expect((await userRow()).generation).toBe(3_999n);
  });

  test("the JWKS unreachable: 503 (the broker retries), nothing written; served again a minute later: applied", async () => {
    jwksStatus = 500;
    const token = await brokerSet({ event: "delete" });
    const before = await snapshot();
    for (const style of STYLES) expect((await post(token, style)).status).toBe(503);
    expect(await snapshot()).toBe(before);
    expect(jwks.fetches).toBe(1);
    jwksStatus = 200;
    now += 60_000;
    expect((await post(token, "bearer")).status).toBe(200);
    expect((await userRow()).generation).toBe(MAX_GENERATION);
  });
});

describe("the rest of the HTTP face", () => {
  test("heartbeats answer; other routes and methods are our 404", async () => {
    const base = URL_EVENTS.replace("/v1/events", "");
    expect((await fetch(`${base}/__heartbeat__`)).status).toBe(200);
    expect((await fetch(`${base}/__lbheartbeat__`)).status).toBe(200);
    const missing = await fetch(`${base}/v1/other`, { method: "POST" });
    expect(missing.status).toBe(404);
    expect((await fetch(URL_EVENTS)).status).toBe(404);
  });
});
