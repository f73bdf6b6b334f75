// The broker's HTTP face in process (app.request) with a real database and loopback webhooks:
// Dockerflow, JWKS, the compatibility proxy (spec §7.2, §7.8, §7.9, §7.13, §7.14 5–8) and the admin API.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { AdminDeps } from "../../src/broker/admin.ts";
import { createBrokerApp } from "../../src/broker/app.ts";
import type { Client } from "../../src/broker/registry.ts";
import { loadSigningKey } from "../../src/broker/set.ts";
import { insertDeliveries } from "../../src/broker/queries.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startRelyingParty } from "../support/relying-party.ts";
import { keys, migrateBroker, verifySet } from "../support/broker.ts";

const db = await createTestDatabase();
const rp = await startRelyingParty();
const key = await loadSigningKey(keys().privateJwk);
const ADMIN = "admin-token-0123456789";
const NOW = 1741963600000;
beforeAll(() => migrateBroker(db.sql));
afterEach(() => rp.reset());

function build(options: { authenticate?: boolean; clients?: Record<string, Partial<Client>> } = {}) {
  const table = new Map(Object.entries(options.clients ?? { abc1234: {} }).map(([id, c]) => [id, { clientId: id, webhookUrl: rp.url, isResourceServer: false, format: "bearer" as const, ...c }]));
  const metrics = recordingMetrics();
  const captured = captureLog("debug");
  const admin: AdminDeps = { sql: db.sql, clock: () => NOW, allowInsecureWebhooks: true };
  const app = createBrokerApp({
    sql: db.sql,
    log: captured.log,
    version: { build: "b", commit: "c", source: "s", version: "v" },
    adminToken: ADMIN,
    admin,
    proxy: {
      clients: { get: (id) => table.get(id) },
      key,
      issuer: "testing",
      log: captured.log,
      metrics,
      clock: () => NOW,
      authenticate: options.authenticate ?? false,
      verificationToken: "abc123",
      timeoutMs: 2_000,
      allowInsecureWebhooks: true,
    },
  });
  return { app, metrics, captured };
}

const push = (data: unknown, raw = false) =>
  JSON.stringify({ message: { data: raw ? String(data) : Buffer.from(JSON.stringify(data)).toString("base64"), messageId: "test-message" }, subscription: "test-sub" });
const post = (app: ReturnType<typeof build>["app"], path: string, body: string, headers: Record<string, string> = {}) =>
  app.request(path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

describe("Dockerflow and JWKS", () => {
  test("heartbeat, lbheartbeat and version", async () => {
    const { app } = build();
    for (const path of ["/__heartbeat__", "/__lbheartbeat__"]) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
    }
    const version = await app.request("/__version__");
    expect(Object.keys((await version.json()) as object).sort()).toEqual(["build", "commit", "source", "version"]);
  });

  test("/.well-known/jwks.json is the public half of the signing key, and verifies the SETs", async () => {
    const { app } = build();
    const jwks = (await (await app.request("/.well-known/jwks.json")).json()) as { keys: Record<string, unknown>[] };
    expect(jwks).toEqual(keys().jwks);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });
});

describe("POST /v1/proxy/:clientId", () => {
  test("subscription state change: the webhook gets Authorization: Bearer <SET>, no body; 200 passes through", async () => {
    const { app, metrics } = build();
    const res = await post(app, "/v1/proxy/abc1234", push({ capabilities: ["cap1", "cap2"], changeTime: 1741963400, event: "subscription:update", isActive: true, uid: "uid1234", timestamp: NOW - 50 }));
    expect(res.status).toBe(200);
    expect(rp.calls).toHaveLength(1);
    expect(rp.calls[0]!.body).toBe("");
    const { payload } = await verifySet(rp.calls[0]!.authorization!.slice("Bearer ".length));
    expect(payload).toMatchObject({ aud: "abc1234", sub: "uid1234", iss: "testing", iat: NOW / 1000 });
    expect(payload.events).toEqual({ "https://schemas.accounts.firefox.com/event/subscription-state-change": { capabilities: ["cap1", "cap2"], changeTime: 1741963400, isActive: true } });
    expect(metrics.calls.find((c) => c.name === "proxy.success")).toMatchObject({ kind: "timing", value: 50, tags: { clientId: "abc1234", statusCode: "200", type: "subscription:update" } });
    expect(metrics.calls.some((c) => c.name === "proxy.queueDelay")).toBe(true);
  });

  test("delete: the event is {}", async () => {
    const { app } = build();
    expect((await post(app, "/v1/proxy/abc1234", push({ event: "delete", uid: "uid1234" }))).status).toBe(200);
    expect((await verifySet(rp.calls[0]!.authorization!.slice(7))).payload.events).toEqual({ "https://schemas.accounts.firefox.com/event/delete-user": {} });
  });

  test("proxies an error code back: 400 'Error123' as {statusCode, message}; proxy.fail counted", async () => {
    rp.statuses = [400];
    rp.answerBody = "Error123";
    const { app, metrics } = build();
    const res = await post(app, "/v1/proxy/abc1234", push({ event: "passwordChange", changeTime: 1, uid: "uid1234" }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ statusCode: 400, message: "Error123" });
    expect(metrics.count("proxy.fail", { clientId: "abc1234", statusCode: "400", type: "passwordChange" })).toBe(1);
  });

  test("a JSON answer is passed on as it is", async () => {
    rp.statuses = [503];
    rp.answerBody = JSON.stringify({ retry: "later" });
    const { app } = build();
    const res = await post(app, "/v1/proxy/abc1234", push({ event: "profileDataChange", uid: "uid1234" }));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ retry: "later" });
  });

  test("unknown client: 200 'Webhook not found' and proxy.webhookNotFound, nothing sent", async () => {
    const { app, metrics } = build();
    const res = await post(app, "/v1/proxy/test1234", push({ event: "delete", uid: "uid1234" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ statusCode: 200, message: "Webhook not found" });
    expect(metrics.count("proxy.webhookNotFound", { clientId: "test1234" })).toBe(1);
    expect(rp.calls).toHaveLength(0);
  });

  test("invalid message payload: 400 Invalid message and one error log", async () => {
    const { app, captured } = build();
    const res = await post(app, "/v1/proxy/abc1234", push("invalid payload", true));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ statusCode: 400, message: "Invalid message", error: "Bad Request" });
    expect(captured.lines.filter((l) => l.severity === 3).map((l) => l.msg)).toEqual(["proxyDelivery"]);
  });

  test("a push body without messageId or subscription: 400 Invalid request payload input", async () => {
    const { app } = build();
    const res = await post(app, "/v1/proxy/abc1234", JSON.stringify({ message: { data: "e30=" } }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "Bad Request", message: "Invalid request payload input", statusCode: 400 });
  });

  test("an event without a SET: 500", async () => {
    const { app } = build();
    const res = await post(app, "/v1/proxy/abc1234", push({ event: "login", uid: "uid1234" }));
    expect(res.status).toBe(500);
    expect(rp.calls).toHaveLength(0);
  });

  test("a webhook that cannot be reached: 500", async () => {
    const { app } = build({ clients: { abc1234: { webhookUrl: "http://127.0.0.1:1/x" } } });
    expect((await post(app, "/v1/proxy/abc1234", push({ event: "delete", uid: "u" }))).status).toBe(500);
  });

  test("auth: wrong or missing ?token → 401; missing Bearer → 401; both right → delivered", async () => {
    const { app } = build({ authenticate: true });
    const body = push({ event: "delete", uid: "uid1234" });
    const bearer = { authorization: "Bearer google.oidc.jwt" };
    for (const [path, headers] of [
      ["/v1/proxy/abc1234?token=wrong", bearer],
      ["/v1/proxy/abc1234", bearer],
      ["/v1/proxy/abc1234?token=abc123", {}],
    ] as const) {
      const res = await post(app, path, body, headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ statusCode: 401, message: "Unauthorized" });
    }
    expect(rp.calls).toHaveLength(0);
    expect((await post(app, "/v1/proxy/abc1234?token=abc123", body, bearer)).status).toBe(200);
    expect(rp.calls).toHaveLength(1);
  });

  test("PUBSUB_AUTHENTICATE=false bypasses both checks", async () => {
    const { app } = build({ authenticate: false });
    expect((await post(app, "/v1/proxy/abc1234", push({ event: "delete", uid: "u" }))).status).toBe(200);
  });
});

describe("admin API", () => {
  const auth = { authorization: `Bearer ${ADMIN}` };
  const call = (app: ReturnType<typeof build>["app"], method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
    app.request(path, { method, headers: { "content-type": "application/json", ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  test("refuses requests without the admin token", async () => {
    const { app } = build();
    expect((await call(app, "GET", "/v1/admin/clients", undefined, {})).status).toBe(401);
    expect((await call(app, "GET", "/v1/admin/clients", undefined, { authorization: "Bearer wrong" })).status).toBe(401);
  });

  test("clients: set (validated), list, remove", async () => {
    const { app } = build();
    const bad = await call(app, "PUT", "/v1/admin/clients/E6EB0D1E856335FC", { webhookUrl: "http://example.com/hook" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe("webhookUrl: must be https");
    expect((await call(app, "PUT", "/v1/admin/clients/not-hex", { webhookUrl: "https://rp.example/hook" })).status).toBe(400);
    expect((await call(app, "PUT", "/v1/admin/clients/ab", { webhookUrl: "https://rp.example/hook", format: "smoke" })).status).toBe(400);
    const ok = await call(app, "PUT", "/v1/admin/clients/E6EB0D1E856335FC", { webhookUrl: "https://vpn.example.com/hook", resourceServer: true, format: "rfc8935" });
    expect(ok.status).toBe(200);
    const list = (await (await call(app, "GET", "/v1/admin/clients")).json()) as Record<string, unknown>[];
    expect(list.map(({ updatedAt, ...rest }) => rest)).toEqual([{ clientId: "e6eb0d1e856335fc", webhookUrl: "https://vpn.example.com/hook", resourceServer: true, format: "rfc8935" }]);
    expect((await call(app, "DELETE", "/v1/admin/clients/e6eb0d1e856335fc")).status).toBe(204);
    expect((await call(app, "DELETE", "/v1/admin/clients/e6eb0d1e856335fc")).status).toBe(404);
  });

  test("deliveries: list with attempts, retry one, replay a client's dead ones; stats", async () => {
    const { app } = build();
    await db.sql`truncate broker_deliveries, broker_attempts restart identity`;
    await insertDeliveries(db.sql, [
      { client_id: "aa", uid: "u1", event: "delete", payload: { event: "delete", uid: "u1" }, jti: crypto.randomUUID(), source_message_id: null },
      { client_id: "aa", uid: "u2", event: "delete", payload: { event: "delete", uid: "u2" }, jti: crypto.randomUUID(), source_message_id: null },
    ], new Date(NOW - 1000));
    await db.sql`update broker_deliveries set status = 'dead', attempts = 1 where id = 1`;
    await db.sql`insert into broker_attempts (delivery_id, attempted_at, http_status, latency_ms, error) values (1, ${new Date(NOW - 500)}, 500, 12, 'HTTP 500')`;
    const dead = (await (await call(app, "GET", "/v1/admin/deliveries?client=aa&status=dead")).json()) as { id: string; attempts: unknown[] }[];
    expect(dead.map((d) => d.id)).toEqual(["1"]);
    expect(dead[0]!.attempts).toEqual([{ at: new Date(NOW - 500).toISOString(), httpStatus: 500, latencyMs: 12, error: "HTTP 500" }]);
    expect((await call(app, "GET", "/v1/admin/deliveries?status=nope")).status).toBe(400);
    expect(await (await call(app, "GET", "/v1/admin/stats")).json()).toEqual({
      clients: { aa: { dead: 1, pending: 1, oldestPending: new Date(NOW - 1000).toISOString() } },
      totals: { pending: 1, delivered: 0, dead: 1, superseded: 0 },
    });
    expect((await call(app, "POST", "/v1/admin/deliveries/retry", { client: "aa" })).status).toBe(400);
    expect(await (await call(app, "POST", "/v1/admin/deliveries/retry", { client: "aa", dead: true })).json()).toEqual({ count: 1 });
    expect((await call(app, "POST", "/v1/admin/deliveries/99/retry")).status).toBe(404);
    expect((await call(app, "POST", "/v1/admin/deliveries/x/retry")).status).toBe(400);
    expect((await call(app, "POST", "/v1/admin/deliveries/2/retry")).status).toBe(204);
    const rows = await db.sql<{ status: string; created_at: Date }[]>`select status, created_at from broker_deliveries order by id`;
    expect(rows.map((r) => r.status)).toEqual(["pending", "pending"]);
    expect(rows[0]!.created_at.getTime()).toBe(NOW);
  });

  test("malformed bodies are 400, oversized 413, unknown routes 404", async () => {
    const { app } = build();
    const notJson = await app.request("/v1/admin/clients/ab", { method: "PUT", body: "{", headers: auth });
    expect(notJson.status).toBe(400);
    const big = await app.request("/v1/admin/clients/ab", { method: "PUT", body: "x".repeat(20_000), headers: auth });
    expect(big.status).toBe(413);
    expect((await call(app, "GET", "/v1/admin/nothing")).status).toBe(404);
  });
});
