// The sync loop against a real PostgreSQL: NOTIFY latency and coalescing (T38), the LISTEN connection
// killed (T39) or unable to come back at once (catch-up when it does), the database down at start (T33)
// and while serving (T40), a restart (T32), the hourly full reload (injected clock) and a bounded stop.
import { describe, expect, test } from "bun:test";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { dumpDocument } from "../../src/account-config/dump.ts";
import { heartbeatReport } from "../../src/account-config/heartbeat.ts";
import { AccountConfigRunner } from "../../src/account-config/runner.ts";
import { createSql, type Sql } from "../../src/db/client.ts";
import { accountConfigDatabases, manualClock, type ScenarioDatabase } from "../support/account-config.ts";
import { captureLog } from "../support/log.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

const databases = await accountConfigDatabases();
const clients: Sql[] = [];

async function seeded(): Promise<ScenarioDatabase> {
  const db = await databases.create();
  await db.sql.unsafe(`INSERT INTO attrib.attrib_account (id, token, name) VALUES (1, 'acme', 'Acme'), (2, 'beta', 'Beta');
    INSERT INTO attrib_client.attrib_event (id, account_id, name) VALUES (10, 1, 'v0')`);
  return db;
}

function throughProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.port = String(proxy.port);
  return u.toString();
}

function client(url: string, applicationName?: string, max = 2): Sql {
  const sql = createSql(url, { max, connectTimeout: 2, ...(applicationName ? { applicationName } : {}) });
  clients.push(sql);
  return sql;
}

interface Options {
  sql?: Sql;
  listenUrl?: string | false;
  pollIntervalMs?: number;
  now?: () => number;
  fullReloadIntervalMs?: number;
  onLog?: (msg: string) => void;
}

function runnerFor(db: ScenarioDatabase, options: Options = {}) {
  const applicationName = `ac-listen-${crypto.randomUUID().slice(0, 8)}`;
  const listenSql = options.listenUrl === false ? undefined : client(options.listenUrl ?? db.url, applicationName, 1);
  const cache = new AccountConfigCache({ ...(options.now ? { now: options.now } : {}), ...(options.fullReloadIntervalMs ? { fullReloadIntervalMs: options.fullReloadIntervalMs } : {}) });
  const runner = new AccountConfigRunner({
    cache,
    sql: options.sql ?? db.sql,
    log: captureLog("debug", options.onLog).log,
    pollIntervalMs: options.pollIntervalMs ?? 60_000,
    retryBaseMs: 50,
    ...(listenSql ? { listen: { sql: listenSql, applicationName, probe: db.sql } } : {}),
  });
  return { runner, cache, applicationName };
}

const eventName = (cache: AccountConfigCache, id = 10) => cache.state.tables.events.rows.get(id)?.name;

/** Resolves once `condition` holds after some refresh; fails after `timeoutMs`. */
async function until(runner: AccountConfigRunner, condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([runner.nextRefresh(), new Promise((r) => (timer = setTimeout(r, left)))]);
    clearTimeout(timer);
  }
}

describe("account-config sync loop", () => {
  test("NOTIFY: every update 50 ms apart is seen well under a second with the poll at 60 s (T38)", async () => {
    const db = await seeded();
    const { runner, cache } = runnerFor(db);
    await runner.start();
    await until(runner, () => runner.status.listen.connected, 5_000, "LISTEN");
    const latencies: number[] = [];
    for (let i = 1; i <= 40; i += 1) {
      const t0 = performance.now();
      await db.sql`UPDATE attrib_client.attrib_event SET name = ${"v" + i} WHERE id = 10`;
      await until(runner, () => eventName(cache) === "v" + i, 1_000, `v${i}`);
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50 - Math.min(50, performance.now() - t0)));
    }
    latencies.sort((a, b) => a - b);
    expect(latencies.at(-1)!).toBeLessThan(1_000);
    expect(latencies[Math.floor(latencies.length / 2)]!).toBeLessThan(250);
    await runner.stop();
  });

  test("a burst of commits is coalesced: fewer refreshes than commits, and the last value wins", async () => {
    const db = await seeded();
    const { runner, cache } = runnerFor(db);
    await runner.start();
    await until(runner, () => runner.status.listen.connected, 5_000, "LISTEN");
    const before = cache.generation;
    for (let i = 1; i <= 100; i += 1) await db.sql`UPDATE attrib_client.attrib_event SET name = ${"burst" + i} WHERE id = 10`;
    await until(runner, () => eventName(cache) === "burst100", 2_000, "the last value");
    expect(cache.generation - before).toBeGreaterThan(0);
    expect(cache.generation - before).toBeLessThan(100);
    await runner.stop();
  });

  test("the LISTEN backend killed: it reconnects, and a write made right after is seen within a second (T39)", async () => {
    const db = await seeded();
    const { runner, cache, applicationName } = runnerFor(db);
    await runner.start();
    await until(runner, () => runner.status.listen.connected, 5_000, "LISTEN");
    const [killed] = await db.sql<{ n: number }[]>`
      SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = ${applicationName}`;
    expect(killed!.n).toBeGreaterThanOrEqual(1);
    const t0 = performance.now();
    await db.sql`UPDATE attrib_client.attrib_event SET name = 'after-kill' WHERE id = 10`;
    await until(runner, () => eventName(cache) === "after-kill", 1_000, "the write after the kill");
    expect(performance.now() - t0).toBeLessThan(1_000);
    await runner.stop();
  });

  test("LISTEN that cannot come back at once is noticed by the poll and re-established; NOTIFY works again", async () => {
    const db = await seeded();
    const proxy = await startTcpProxy("127.0.0.1", Number(new URL(db.url).port || 5432));
    const { runner, cache } = runnerFor(db, { listenUrl: throughProxy(db.url, proxy), pollIntervalMs: 200 });
    await runner.start();
    await until(runner, () => runner.status.listen.connected, 5_000, "LISTEN");
    await proxy.refuse(); // postgres.js tries to listen again at once, fails, and gives up
    await until(runner, () => !runner.status.listen.connected, 5_000, "the loss to be noticed");
    const deaf = heartbeatReport(runner, 30_000);
    expect(deaf.httpStatus).toBe(200);
    expect(deaf.body).toMatchObject({ status: "warning", listen: { enabled: true, connected: false } });
    // Writes go on meanwhile; the poll keeps the cache current.
    await db.sql`UPDATE attrib_client.attrib_event SET name = 'while-deaf' WHERE id = 10`;
    await until(runner, () => eventName(cache) === "while-deaf", 2_000, "the poll to catch the write");
    await proxy.restore();
    await until(runner, () => runner.status.listen.connected, 5_000, "LISTEN again");
    const notified = runner.status.listen.lastNotifyAt;
    await db.sql`UPDATE attrib_client.attrib_event SET name = 'heard' WHERE id = 10`;
    await until(runner, () => eventName(cache) === "heard" && runner.status.listen.lastNotifyAt !== notified, 2_000, "a notification");
    expect(heartbeatReport(runner, 30_000).body.status).toBe("ok");
    await runner.stop();
    await proxy.close();
  });

  test("database down at start: nothing ready, failures retried; ready once it answers (T33)", async () => {
    const db = await seeded();
    const proxy = await startTcpProxy("127.0.0.1", Number(new URL(db.url).port || 5432));
    await proxy.refuse();
    let failures = 0;
    let onFailure: () => void = () => {};
    const { runner, cache } = runnerFor(db, {
      sql: client(throughProxy(db.url, proxy)),
      listenUrl: false,
      onLog: (msg) => msg.startsWith("Refresh failed") && (failures += 1, onFailure()),
    });
    const started = runner.start();
    await new Promise<void>((resolve) => (onFailure = () => failures >= 2 && resolve()));
    expect(cache.ready).toBe(false);
    await proxy.restore();
    await started;
    expect(cache.ready).toBe(true);
    expect(eventName(cache)).toBe("v0");
    await runner.stop();
    await proxy.close();
  });

  test("database down while serving: the old state is served, and the recovery is a delta from the old frontier (T40)", async () => {
    const db = await seeded();
    const proxy = await startTcpProxy("127.0.0.1", Number(new URL(db.url).port || 5432));
    let onFailure: () => void = () => {};
    const { runner, cache } = runnerFor(db, {
      sql: client(throughProxy(db.url, proxy)),
      listenUrl: false,
      pollIntervalMs: 100,
      onLog: (msg) => msg.startsWith("Refresh failed") && onFailure(),
    });
    await runner.start();
    const frontier = cache.frontier;
    const failed = new Promise<void>((resolve) => (onFailure = resolve));
    await proxy.refuse();
    await failed;
    await db.sql`UPDATE attrib_client.attrib_event SET name = 'during-outage' WHERE id = 10`;
    expect(eventName(cache)).toBe("v0");
    expect(runner.status.consecutiveFailures).toBeGreaterThan(0);
    await proxy.restore();
    await until(runner, () => eventName(cache) === "during-outage", 5_000, "recovery");
    expect(cache.lastRefresh!.mode).toBe("delta");
    expect(cache.frontier).not.toEqual(frontier);
    expect(runner.status.consecutiveFailures).toBe(0);
    await runner.stop();
    await proxy.close();
  });

  test("a restart after inserts, updates, soft and hard deletes equals the database (T32)", async () => {
    const db = await seeded();
    const first = runnerFor(db, { listenUrl: false });
    await first.runner.start();
    await first.runner.stop();
    await db.sql.unsafe(`INSERT INTO attrib_client.attrib_event (id, account_id, name) VALUES (11, 2, 'new');
      UPDATE attrib_client.attrib_event SET name = 'changed' WHERE id = 10;
      UPDATE attrib.attrib_account SET deleted_at = now() WHERE id = 2;
      INSERT INTO attrib_client.attrib_domains (id, account_id, domain) VALUES (70, 1, 'a.example');
      DELETE FROM attrib_client.attrib_domains WHERE id = 70`);
    const second = runnerFor(db, { listenUrl: false });
    await second.runner.start();
    const fresh = new AccountConfigCache();
    await fresh.refresh(db.sql);
    const doc = (c: AccountConfigCache) => JSON.stringify(dumpDocument(c.state, { now: 0, xmin: "-" }));
    expect(doc(second.cache)).toBe(doc(fresh));
    expect(eventName(second.cache)).toBe("changed");
    expect(second.cache.state.account("beta")).toBeUndefined();
    expect(second.cache.state.tables.domains.rows.size).toBe(0);
    await second.runner.stop();
  });

  test("a full reload runs once FULL_RELOAD_INTERVAL has passed (injected clock); deltas in between", async () => {
    const db = await seeded();
    const clock = manualClock();
    const cache = new AccountConfigCache({ now: clock.now, fullReloadIntervalMs: 3_600_000 });
    expect((await cache.refresh(db.sql)).mode).toBe("full");
    clock.advance(3_599_999);
    expect((await cache.refresh(db.sql)).mode).toBe("delta");
    clock.advance(1);
    expect((await cache.refresh(db.sql)).mode).toBe("full");
    expect((await cache.refresh(db.sql)).mode).toBe("delta");
  });

  test("stop is bounded while a refresh is blocked, and the blocked refresh applies nothing", async () => {
    const db = await seeded();
    const { runner, cache } = runnerFor(db, { listenUrl: false });
    await runner.start();
    const generation = cache.generation;
    const locker = await db.sql.reserve();
    await locker.unsafe("BEGIN; UPDATE attrib_client.attrib_event SET name = 'locked' WHERE id = 10; LOCK TABLE attrib.config_epoch IN ACCESS EXCLUSIVE MODE");
    runner.trigger("test");
    const t0 = performance.now();
    await runner.stop({ refreshWaitMs: 300, checksWaitMs: 100 });
    expect(performance.now() - t0).toBeLessThan(1_500);
    await locker.unsafe("ROLLBACK");
    locker.release();
    expect(cache.generation).toBe(generation);
    expect(eventName(cache)).toBe("v0");
  });
});
