// Delivery workers against real PostgreSQL and loopback webhooks, with an injected clock for retries,
// backoff, endpoint health and the maximum age.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { startDeliveryWorkers, retryDelay, type DeliveryOptions } from "../../src/broker/delivery.ts";
import { insertDeliveries, retryDeadOfClient, type DeliveryFormat } from "../../src/broker/queries.ts";
import type { Client } from "../../src/broker/registry.ts";
import { loadSigningKey } from "../../src/broker/set.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startRelyingParty } from "../support/relying-party.ts";
import { waitFor } from "../support/wait.ts";
import { keys, migrateBroker, verifySet } from "../support/broker.ts";

const db = await createTestDatabase();
const rp = await startRelyingParty();
const key = await loadSigningKey(keys().privateJwk);
const T0 = Date.parse("2026-01-01T00:00:00Z");
const UID = "7f5c9a1e2b3d4c5e8f90a1b2c3d4e5f6";
const JTI = "1eeffe64-ffed-460e-873c-2329ca0da9aa";

beforeAll(() => migrateBroker(db.sql));

interface Harness {
  now: number;
  stop: AbortController;
  workers: ReturnType<typeof startDeliveryWorkers>;
  metrics: ReturnType<typeof recordingMetrics>;
  log: ReturnType<typeof captureLog>;
  advance(ms: number): void;
}

let current: Harness | undefined;
afterEach(async () => {
  current?.stop.abort();
  await current?.workers.done;
  current = undefined;
  rp.reset();
  await db.sql`truncate broker_deliveries, broker_attempts restart identity`;
});

function start(clients: Record<string, Partial<Client>>, options: Partial<DeliveryOptions> = {}): Harness {
  const table = new Map(Object.entries(clients).map(([id, c]) => [id, { clientId: id, webhookUrl: rp.url, isResourceServer: false, format: "bearer" as DeliveryFormat, ...c }]));
  const stop = new AbortController();
  const metrics = recordingMetrics();
  const log = captureLog("debug");
  const h = {
    now: T0,
    stop,
    metrics,
    log,
    advance(ms: number) {
      h.now += ms;
      h.workers.wake();
    },
  } as Harness;
  h.workers = startDeliveryWorkers(
    { sql: db.sql, clients: { get: (id) => table.get(id) }, key, issuer: "https://accounts.firefox.com", log: log.log, metrics, clock: () => h.now, random: () => 0.5 },
    { concurrency: 8, timeoutMs: 2_000, maxAgeMs: 7 * 86_400_000, allowInsecureWebhooks: true, pollMs: 20, signal: stop.signal, ...options },
  );
  current = h;
  return h;
}

async function enqueue(clientId: string, json: Record<string, unknown> = { changeTime: 1741964012345, event: "passwordChange", timestamp: T0, uid: UID }, jti = JTI, at = T0) {
  await insertDeliveries(db.sql, [{ client_id: clientId, uid: UID, event: String(json.event), payload: json, jti, source_message_id: "m1" }], new Date(at));
}

const rows = () => db.sql<{ id: bigint; status: string; attempts: number; last_status: number | null; last_error: string | null; available_at: Date; finished_at: Date | null }[]>`select * from broker_deliveries order by id`;
const attempts = () => db.sql<{ http_status: number | null; error: string | null; latency_ms: number }[]>`select * from broker_attempts order by id`;
const settled = (status: string, n = 1) => waitFor(async () => (await rows()).filter((r) => r.status === status).length >= n, `${n} ${status}`);
const attemptsRecorded = (n: number) => waitFor(async () => (await attempts()).length >= n, `${n} attempts`);

describe("delivery", () => {
  test("2xx: one POST with Authorization: Bearer <SET>, no body; the SET verifies with the row's jti; delivered and recorded", async () => {
    await enqueue("e6eb0d1e856335fc");
    start({ e6eb0d1e856335fc: {} });
    await settled("delivered");
    expect(rp.calls).toHaveLength(1);
    const call = rp.calls[0]!;
    expect(call.body).toBe("");
    expect(call.contentType).toBeNull();
    const { header, payload } = await verifySet(call.authorization!.replace(/^Bearer /, ""));
    expect(header).toEqual({ alg: "RS256", kid: "20250301-5f0e1c2d" });
    expect(payload).toEqual({
      aud: "e6eb0d1e856335fc",
      events: { "https://schemas.accounts.firefox.com/event/password-change": { changeTime: 1741964012345 } },
      iat: T0 / 1000,
      jti: JTI,
      sub: UID,
      iss: "https://accounts.firefox.com",
    });
    const [row] = await rows();
    expect(row!.attempts).toBe(1);
    expect(row!.last_status).toBe(200);
    expect(row!.finished_at!.getTime()).toBe(T0);
    expect((await attempts())[0]!.http_status).toBe(200);
    expect(current!.metrics.calls.some((c) => c.name === "proxy.success" && c.tags?.statusCode === "200" && c.tags.type === "passwordChange")).toBe(true);
  });

  test("RFC 8935 format: the SET is the body with Content-Type application/secevent+jwt; 202 is delivered", async () => {
    rp.statuses = [202];
    await enqueue("e6eb0d1e856335fc");
    start({ e6eb0d1e856335fc: { format: "rfc8935" } });
    await settled("delivered");
    expect(rp.calls[0]!.authorization).toBeNull();
    expect(rp.calls[0]!.contentType).toBe("application/secevent+jwt");
    expect((await verifySet(rp.calls[0]!.body)).payload.aud).toBe("e6eb0d1e856335fc");
  });

  test("RFC 8935 error body is read and recorded", async () => {
    rp.statuses = [400];
    rp.answerBody = JSON.stringify({ err: "invalid_key", description: "Key ID 12345 has been revoked." });
    await enqueue("e6eb0d1e856335fc");
    start({ e6eb0d1e856335fc: { format: "rfc8935" } });
    await attemptsRecorded(1);
    expect((await attempts())[0]).toMatchObject({ http_status: 400, error: "invalid_key: Key ID 12345 has been revoked." });
  });

  for (const status of [400, 500, 503]) {
    test(`${status}: retried after backoff with the same jti, then delivered`, async () => {
      rp.statuses = [status, 200];
      rp.answerBody = "Error123";
      await enqueue("e6eb0d1e856335fc");
      const h = start({ e6eb0d1e856335fc: {} });
      await attemptsRecorded(1);
      const [row] = await rows();
      expect(row).toMatchObject({ status: "pending", attempts: 1, last_status: status, last_error: `HTTP ${status}: Error123` });
      // random 0.5: three quarters of the 10 s ceiling.
      expect(row!.available_at.getTime() - T0).toBe(7_500);
      expect(rp.calls).toHaveLength(1);
      h.advance(7_500);
      await settled("delivered");
      expect(rp.calls).toHaveLength(2);
      const jtis = await Promise.all(rp.calls.map(async (c) => (await verifySet(c.authorization!.slice(7))).payload.jti));
      expect(jtis).toEqual([JTI, JTI]);
      expect((await attempts()).map((a) => a.http_status)).toEqual([status, 200]);
      expect(h.metrics.count("proxy.fail", { clientId: "e6eb0d1e856335fc", statusCode: String(status), type: "passwordChange" })).toBe(1);
    });
  }

  test("backoff: first retry within 10 s, doubling, never more than 10 minutes apart", () => {
    expect(retryDelay(1, () => 1)).toBe(10_000);
    expect(retryDelay(1, () => 0)).toBe(5_000);
    expect(retryDelay(2, () => 1)).toBe(20_000);
    expect(retryDelay(7, () => 1)).toBe(600_000);
    expect(retryDelay(40, () => 1)).toBe(600_000);
  });

  test("a redirect is not followed: the 3xx is a failed attempt", async () => {
    rp.statuses = [302];
    rp.answerHeaders = { location: `${rp.url}/elsewhere` };
    await enqueue("e6eb0d1e856335fc");
    start({ e6eb0d1e856335fc: {} });
    await attemptsRecorded(1);
    expect(rp.calls).toHaveLength(1);
    expect((await attempts())[0]!.http_status).toBe(302);
  });

  test("a timeout and a refused connection are failed attempts with the reason", async () => {
    let release!: () => void;
    rp.gate = new Promise((r) => (release = r));
    await enqueue("e6eb0d1e856335fc");
    await enqueue("c2a9f1d6e8b47305", undefined, "9ae2b4d8-52a2-4c1f-8c1e-0d3f1e6a7b21");
    start({ e6eb0d1e856335fc: {}, c2a9f1d6e8b47305: { webhookUrl: "http://127.0.0.1:1/refused" } }, { timeoutMs: 300 });
    await attemptsRecorded(2);
    release();
    const errors = (await attempts()).map((a) => a.error).sort();
    expect(errors[0]).toMatch(/^network: /);
    expect(errors[1]).toBe("timeout: no answer within 300 ms");
  });

  test("a slow answer within the timeout is delivered", async () => {
    let release!: () => void;
    rp.gate = new Promise((r) => (release = r));
    await enqueue("e6eb0d1e856335fc");
    start({ e6eb0d1e856335fc: {} });
    await rp.waitForCalls(1);
    expect((await rows())[0]!.status).toBe("pending");
    release();
    await settled("delivered");
  });

  test("dead once DELIVERY_MAX_AGE has passed; replay makes it due again", async () => {
    rp.statuses = [500];
    await enqueue("e6eb0d1e856335fc");
    const h = start({ e6eb0d1e856335fc: {} }, { maxAgeMs: 60_000, health: { threshold: 1000, baseMs: 1, capMs: 1 } });
    await attemptsRecorded(1);
    // Retries are due no later than the maximum age; the attempt at it is the last.
    for (let i = 0; i < 20 && (await rows())[0]!.status === "pending"; i++) {
      const next = (await rows())[0]!.available_at.getTime();
      const before = (await attempts()).length;
      h.now = next;
      h.workers.wake();
      await attemptsRecorded(before + 1);
    }
    const [row] = await rows();
    expect(row!.status).toBe("dead");
    expect(row!.finished_at!.getTime()).toBe(T0 + 60_000);
    const deadAttempts = row!.attempts;
    rp.statuses = [200];
    expect(await retryDeadOfClient(db.sql, "e6eb0d1e856335fc", new Date(h.now))).toBe(1);
    h.workers.wake();
    await settled("delivered");
    expect((await rows())[0]!.attempts).toBe(deadAttempts + 1);
  });

  test("no webhook for the client: delivered, counted as proxy.webhookNotFound, nothing sent", async () => {
    await enqueue("3c32bf6654542211");
    const h = start({});
    await settled("delivered");
    expect(rp.calls).toHaveLength(0);
    expect(h.metrics.count("proxy.webhookNotFound", { clientId: "3c32bf6654542211" })).toBe(1);
    expect((await rows())[0]!.last_error).toBe("webhook not found");
  });

  test("an event without a SET is dead at once", async () => {
    await enqueue("e6eb0d1e856335fc", { event: "bogus", uid: UID, timestamp: T0 });
    start({ e6eb0d1e856335fc: {} });
    await settled("dead");
    expect((await rows())[0]!.last_error).toBe("Invalid event: bogus");
    expect(rp.calls).toHaveLength(0);
  });

  test("http webhooks are refused unless insecure webhooks are allowed", async () => {
    await enqueue("e6eb0d1e856335fc");
    start({ e6eb0d1e856335fc: {} }, { allowInsecureWebhooks: false });
    await attemptsRecorded(1);
    expect((await attempts())[0]!.error).toBe("webhook URL refused: http is allowed only on loopback with --allow-insecure-webhooks");
    expect(rp.calls).toHaveLength(0);
  });

  test("endpoint health: after 3 failures the endpoint is backed off as a whole (no attempts burnt), one probe reopens it", async () => {
    rp.statuses = [500, 500, 500, 200];
    for (let i = 0; i < 10; i++) await enqueue("e6eb0d1e856335fc", undefined, crypto.randomUUID());
    const h = start({ e6eb0d1e856335fc: {} }, { concurrency: 1 });
    await attemptsRecorded(3);
    await waitFor(async () => (await rows()).every((r) => r.available_at.getTime() === T0 + 5_000 || r.attempts > 0), "the endpoint's rows deferred");
    expect(rp.calls).toHaveLength(3);
    expect((await rows()).filter((r) => r.attempts > 0)).toHaveLength(3);
    expect(h.workers.health.open(h.now)).toEqual([{ clientId: "e6eb0d1e856335fc", failures: 3, until: T0 + 5_000 }]);
    h.advance(5_000);
    await settled("delivered", 10);
    // The probe succeeded and released the rest at once, including the three in their own backoff.
    expect(rp.calls).toHaveLength(13);
    expect(h.workers.health.open(h.now)).toEqual([]);
  });

  test("rows that arrive for an endpoint while it is backed off are not claimed at all until it may be tried again", async () => {
    const healthy = await startRelyingParty();
    rp.statuses = [500];
    for (let i = 0; i < 3; i++) await enqueue("e6eb0d1e856335fc", undefined, crypto.randomUUID());
    const h = start({ e6eb0d1e856335fc: {}, c2a9f1d6e8b47305: { webhookUrl: healthy.url } }, { concurrency: 1 });
    await attemptsRecorded(3);
    await waitFor(() => h.workers.health.open(h.now).length === 1, "the endpoint backed off");
    const deferredBefore = h.workers.counts.deferred;
    // Newer rows of the backed-off endpoint, then one of a healthy endpoint: claims go in id order, so
    // once the healthy one is delivered any claim has passed over the others.
    for (let i = 0; i < 5; i++) await enqueue("e6eb0d1e856335fc", undefined, crypto.randomUUID());
    await enqueue("c2a9f1d6e8b47305", undefined, crypto.randomUUID());
    h.workers.wake();
    await settled("delivered", 1);
    const late = await db.sql<{ claimed_until: Date | null; attempts: number }[]>`
      select claimed_until, attempts from broker_deliveries where client_id = 'e6eb0d1e856335fc' and id > 3`;
    expect(late).toHaveLength(5);
    expect(late.every((r) => r.claimed_until === null && r.attempts === 0)).toBe(true);
    expect(h.workers.counts.deferred).toBe(deferredBefore);
    expect(rp.calls).toHaveLength(3);
    // Its back-off over, they are claimed again: the probe goes out.
    rp.statuses = [200];
    h.advance(5_000);
    await settled("delivered", 9);
  });

  test("a stop waits for calls in flight; calls cut by the abandon record nothing and keep their lease", async () => {
    rp.gate = new Promise(() => {}); // never answers
    await enqueue("e6eb0d1e856335fc");
    const abandon = new AbortController();
    const h = start({ e6eb0d1e856335fc: {} }, { abandon: abandon.signal, timeoutMs: 60_000 });
    await rp.waitForCalls(1);
    h.stop.abort();
    let finished = false;
    const done = h.workers.done.then(() => (finished = true));
    await Promise.resolve();
    expect(finished).toBe(false);
    abandon.abort();
    await done;
    expect(await attempts()).toHaveLength(0);
    const [row] = await db.sql<{ status: string; claimed_until: Date | null }[]>`select status, claimed_until from broker_deliveries`;
    expect(row!.status).toBe("pending");
    expect(row!.claimed_until!.getTime()).toBe(T0 + 2 * 60_000 + 5_000);
    rp.gate = null;
  });

  test("one endpoint down does not hold the others", async () => {
    for (let i = 0; i < 20; i++) await enqueue("c2a9f1d6e8b47305", undefined, crypto.randomUUID());
    for (let i = 0; i < 20; i++) await enqueue("e6eb0d1e856335fc", undefined, crypto.randomUUID());
    start({ e6eb0d1e856335fc: {}, c2a9f1d6e8b47305: { webhookUrl: "http://127.0.0.1:1/down" } }, { concurrency: 4 });
    await settled("delivered", 20);
    const down = (await rows()).filter((r) => r.status === "pending");
    expect(down).toHaveLength(20);
    expect(down.reduce((sum, r) => sum + r.attempts, 0)).toBeLessThanOrEqual(6);
  });
});

describe("endpoint health", () => {
  test("opens after 3 failures; failures in flight when it opened neither reopen nor lengthen it; a failed probe doubles it; a success closes it", async () => {
    const { EndpointHealth } = await import("../../src/broker/endpoint-health.ts");
    const health = new EndpointHealth({ threshold: 3, baseMs: 1_000, capMs: 4_000 });
    expect(health.admit("a", 0, 100)).toEqual({ go: true, probe: false });
    expect(health.failed("a", 0)).toBeUndefined();
    expect(health.failed("a", 0)).toBeUndefined();
    expect(health.failed("a", 10)).toBe(1_010);
    expect(health.failed("a", 20)).toBeUndefined(); // was in flight
    expect(health.admit("a", 500, 100)).toEqual({ go: false, until: 1_010 });
    expect(health.admit("a", 1_010, 100)).toEqual({ go: true, probe: true });
    expect(health.admit("a", 1_011, 100)).toEqual({ go: false, until: 1_111 }); // one probe at a time
    expect(health.failed("a", 1_050)).toBe(3_050);
    expect(health.admit("a", 3_050, 100)).toEqual({ go: true, probe: true });
    expect(health.failed("a", 3_100)).toBe(7_100);
    expect(health.admit("a", 7_100, 100)).toEqual({ go: true, probe: true });
    expect(health.failed("a", 7_100)).toBe(11_100); // capped at 4 s
    expect(health.admit("a", 11_100, 100)).toEqual({ go: true, probe: true });
    expect(health.succeeded("a")).toBe(true);
    expect(health.admit("a", 11_200, 100)).toEqual({ go: true, probe: false });
    expect(health.succeeded("b")).toBe(false);
  });
});
