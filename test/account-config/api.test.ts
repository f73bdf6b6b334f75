// The read API over a real database: status codes and error kinds (§9, T21, T44), headers, redaction,
// readiness (503 before the first load), the heartbeat's staleness and warnings (T29, T40, T43), and
// maintenance evaluated at read time with an injected clock (T03, T09).
import { beforeAll, describe, expect, test } from "bun:test";
import { createConfigApp } from "../../src/account-config/api.ts";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { AccountConfigRunner } from "../../src/account-config/runner.ts";
import { VisscoreChecker } from "../../src/account-config/visscore.ts";
import { accountConfigDatabases, manualClock, type ScenarioDatabase } from "../support/account-config.ts";
import { captureLog } from "../support/log.ts";
import { startTestSqs } from "../support/sqs.ts";

const databases = await accountConfigDatabases();
const sqs = await startTestSqs();
const VERSION = { build: "b", commit: "c", source: "s", version: "v" };
const V1 = "a".repeat(31) + "1";

let db: ScenarioDatabase;
beforeAll(async () => {
  db = await databases.create();
  sqs.createQueue("visscore_main_acme");
  await db.sql.unsafe(`
    INSERT INTO attrib.attrib_account (id, token, name, connection_strings, visscore_queue, maintenance_until)
      VALUES (1, 'acme', 'Acme', '{"write": "postgres://acme:pw@db/acme"}', 'visscore_main_acme', NULL),
             (2, 'beta', 'Beta', '{}', 'visscore_main_beta', NULL),
             (3, 'gamma', 'Gamma', '{}', NULL, '2026-01-01T00:00:01Z');
    INSERT INTO attrib.attrib_account_group (account_id, child_account_id) VALUES (1, 2), (1, 3), (2, 3);
    INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode) VALUES (1, '203.0.113.7', 'discard');
    INSERT INTO attrib_client.attrib_blacklist_visitors (account_id, visitor, mode) VALUES (1, '${V1}', 'no_sync');
    INSERT INTO attrib_client.attrib_pattern (id, account_id, referer_id, pattern) VALUES (90, 2, 1, '(?P<x>a)'), (91, NULL, 1, 'bing\\.');`);
});

function setup(options: { apiToken?: string } = {}) {
  const clock = manualClock();
  const { log } = captureLog("warn");
  const visscore = new VisscoreChecker({ sqs: sqs.client, log, now: clock.now });
  const cache = new AccountConfigCache({ now: clock.now, visscore });
  const runner = new AccountConfigRunner({ cache, sql: db.sql, log, pollIntervalMs: 60_000 });
  const app = createConfigApp({ runner, log, version: VERSION, staleAfterMs: 30_000, ...options });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await app.request(`http://localhost${path}`, { headers });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  return { clock, cache, runner, app, get };
}

describe("account-config HTTP API", () => {
  test("data routes answer 503 not_ready before the first load, the heartbeat 503 ready:false; both recover after it", async () => {
    const { runner, get } = setup();
    expect((await get("/accounts")).status).toBe(503);
    expect((await get("/accounts/acme")).body).toMatchObject({ error: "not_ready" });
    const hb = await get("/__heartbeat__");
    expect(hb.status).toBe(503);
    expect(hb.body).toMatchObject({ ready: false, status: "error" });
    expect((await get("/__lbheartbeat__")).status).toBe(200);
    await runner.start();
    expect((await get("/accounts")).status).toBe(200);
    expect((await get("/__heartbeat__")).body.ready).toBe(true);
    await runner.stop();
  });

  test("lookups, unknown accounts, malformed and oversized input: 200/400/404 with the error kind, never 500", async () => {
    const { runner, get } = setup();
    await runner.start();
    expect((await get("/accounts/acme/blacklist/ip/203.0.113.7")).body).toEqual({ blacklisted: true, mode: "discard", match: "203.0.113.7/32" });
    expect((await get("/accounts/1/blacklist/ip/::ffff:203.0.113.7")).body).toEqual({ blacklisted: true, mode: "discard", match: "203.0.113.7/32" });
    expect((await get(`/accounts/acme/blacklist/visitor/${V1}`)).body).toEqual({ blacklisted: true, mode: "no_sync" });
    expect((await get(`/accounts/acme/blacklist/visitor/${V1.toUpperCase()}`)).body).toEqual({ blacklisted: false });
    for (const [path, status, kind] of [
      ["/accounts/acme/blacklist/ip/999.1.1.1", 400, "invalid_ip"],
      ["/accounts/acme/blacklist/ip/not-an-ip", 400, "invalid_ip"],
      [`/accounts/acme/blacklist/ip/${"1".repeat(5000)}`, 400, "invalid_ip"],
      ["/accounts/acme/blacklist/ip/1.2.3.4%2F24", 400, "invalid_ip"],
      ["/accounts/acme/blacklist/visitor/short", 400, "invalid_visitor"],
      [`/accounts/acme/blacklist/visitor/${"x".repeat(33)}`, 400, "invalid_visitor"],
      ["/accounts/nobody/blacklist/ip/203.0.113.7", 404, "unknown_account"],
      ["/accounts/nobody", 404, "unknown_account"],
      ["/accounts/99999999999999999999", 404, "unknown_account"],
      [`/accounts/${"a".repeat(200)}`, 400, "invalid_account"],
      ["/accounts/%00%ff", 404, "unknown_account"],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(status);
      expect(res.body, path).toMatchObject({ code: status, error: kind });
    }
    await runner.stop();
  });

  test("headers: no-store, the generation as ETag, the config age; the list and the children route", async () => {
    const { runner, get, cache, clock } = setup();
    await runner.start();
    clock.advance(1234);
    const res = await get("/accounts");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("etag")).toBe(`"${cache.generation}"`);
    expect(res.headers.get("x-config-age-ms")).toBe("1234");
    expect(res.body.map((a: { token: string }) => a.token)).toEqual(["acme", "beta", "gamma"]);
    expect((await get("/accounts/acme/children")).body).toEqual([{ id: 2, token: "beta" }, { id: 3, token: "gamma" }]);
    expect((await get("/accounts/beta/children")).body).toEqual([{ id: 3, token: "gamma" }]);
    await runner.stop();
  });

  test("connection strings are redacted except on the bearer-protected route (T44), which is 404 without API_TOKEN", async () => {
    const open = setup();
    await open.runner.start();
    const view = await open.get("/accounts/acme");
    expect(view.body.connection_strings).toEqual({ write: "<redacted>" });
    expect(JSON.stringify(view.body)).not.toContain("acme:pw");
    expect((await open.get("/accounts/acme/connections")).status).toBe(404);
    await open.runner.stop();

    const guarded = setup({ apiToken: "s3cret-token" });
    await guarded.runner.start();
    expect((await guarded.get("/accounts/acme/connections")).status).toBe(401);
    expect((await guarded.get("/accounts/acme/connections", { authorization: "Bearer wrong" })).status).toBe(401);
    const ok = await guarded.get("/accounts/1/connections", { authorization: "Bearer s3cret-token" });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ write: "postgres://acme:pw@db/acme" });
    await guarded.runner.stop();
  });

  test("maintenance is evaluated when read: true until maintenance_until, then false without a write (T09)", async () => {
    const { runner, get, clock } = setup();
    await runner.start();
    clock.set(Date.parse("2026-01-01T00:00:00Z"));
    expect((await get("/accounts/gamma")).body.inMaintenance).toBe(true);
    clock.set(Date.parse("2026-01-01T00:00:02Z"));
    expect((await get("/accounts/gamma")).body.inMaintenance).toBe(false);
    expect((await get("/accounts")).body.find((a: { token: string }) => a.token === "gamma").inMaintenance).toBe(false);
    await runner.stop();
  });

  test("heartbeat: warning for a missing visscore queue and a skipped row (T29, T43), 503 once the last refresh is older than STALE_AFTER (T40)", async () => {
    const { runner, get, clock, cache } = setup();
    await runner.start();
    await cache.visscore!.settled();
    const hb = await get("/__heartbeat__");
    expect(hb.status).toBe(200);
    expect(hb.body.status).toBe("warning");
    expect(hb.body.checks.visscore).toEqual({ status: "warning", missing: ["beta"], errors: [] });
    // VISSCORE_CHECK_RETRY_QUEUE adds the accounts whose retry queue is absent, report only.
    const withRetry = new VisscoreChecker({ sqs: sqs.client, log: captureLog("warn").log, now: clock.now, checkRetryQueue: true });
    withRetry.schedule(cache.state.accounts.values(), () => true);
    await withRetry.settled();
    expect(withRetry.problems((id) => cache.state.accounts.get(id)?.token)).toEqual({ missing: ["beta"], errors: [], retryMissing: ["acme", "beta"] });
    expect(hb.body.checks.problems).toHaveLength(1);
    expect(hb.body.checks.problems[0].row).toBe("patterns:90");
    const acme = (await get("/accounts/acme")).body;
    expect(acme.visscore).toMatchObject({ status: "ok", resolved: "visscore_main_acme" });
    expect(acme.visscore.url).toContain("visscore_main_acme");
    expect(acme.effectivePatterns.map((p: { id: number }) => p.id)).toEqual([91]);
    clock.advance(29_999);
    expect((await get("/__heartbeat__")).status).toBe(200);
    clock.advance(1);
    const stale = await get("/__heartbeat__");
    expect(stale.status).toBe(503);
    expect(stale.body).toMatchObject({ status: "error", ready: true });
    // Data is still served from the last good state.
    expect((await get("/accounts/acme")).status).toBe(200);
    await runner.stop();
  });
});
