// The account-config soak (spec/account-config.md §10 G9, T45): several writers on their own connections
// run transactions of random length (inserts, updates, soft deletes and restores, hard deletes, a
// rollback now and then) while a runner follows them through NOTIFY and the poll; one TRUNCATE lands in
// the middle. At the end the runner's state must equal a fresh full load and the tables themselves.
// Used by test/account-config/soak.test.ts (short) and bench/account-config.ts (longer).
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { dumpDocument } from "../../src/account-config/dump.ts";
import { AccountConfigRunner } from "../../src/account-config/runner.ts";
import { TABLES } from "../../src/account-config/tables.ts";
import type { Logger } from "../../src/core/logger.ts";
import { createSql, type Sql } from "../../src/db/client.ts";
import { seededRandom } from "./seeded-random.ts";

export interface SoakOptions {
  url: string;
  sql: Sql;
  log: Logger;
  durationMs: number;
  writers: number;
  /** Each transaction stays open a random 0..maxTxnMs. */
  maxTxnMs: number;
  pollIntervalMs?: number;
  seed?: number;
}

export interface SoakResult {
  operations: number;
  commits: number;
  rollbacks: number;
  failed: number;
  hardDeletes: number;
  truncates: number;
  refreshes: number;
  /** Accounts (or tables) whose cached form differs from the database's. */
  differences: string[];
}


const CHILD_INSERTS: ((tx: Sql, account: number, n: number) => Promise<unknown>)[] = [
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_event (account_id, name) VALUES (${a}, ${"ev" + n})`,
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_pattern (account_id, referer_id, pattern, priority) VALUES (${n % 7 === 0 ? null : a}, ${n % 5}, ${"ref" + n + "\\."}, ${n % 3})`,
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_client_cookie (account_id, cookie_name, value_regex) VALUES (${a}, ${"c" + n}, ${"^(\\w+)$"})`,
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_path_replacements (account_id, token, replacement, position) VALUES (${a}, ${"/t" + n + "/"}, '/', ${n % 4})`,
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_endpoints (account_id, name, url) VALUES (${a}, ${"e" + n}, ${"https://e" + n + ".example/"})`,
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_domains (account_id, domain) VALUES (${a}, ${"d" + n + ".example"})`,
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode) VALUES (${a}, network(${`10.${n % 250}.${(n >> 8) % 250}.${n % 7}/${16 + (n % 17)}`}::inet), ${n % 2 ? "discard" : "no_sync"})`,
  (tx, a, n) => tx`INSERT INTO attrib_client.attrib_blacklist_visitors (account_id, visitor, mode) VALUES (${a}, ${("v" + n).padEnd(32, "x")}, ${n % 2 ? "discard" : "no_sync"})`,
  async (tx, a, n) => {
    const [cluster] = await tx<{ id: number }[]>`INSERT INTO attrib_client.attrib_autoevent_cluster (account_id, name) VALUES (${a}, ${"cl" + n}) RETURNING id::int AS id`;
    const [event] = await tx<{ id: number }[]>`INSERT INTO attrib_client.attrib_event (account_id, name) VALUES (${a}, ${"cev" + n}) RETURNING id::int AS id`;
    await tx`INSERT INTO attrib_client.attrib_autoevent_cluster_lookup (account_id, cluster_id, event_id, url) VALUES (${a}, ${cluster!.id}, ${event!.id}, ${"/u" + n})`;
  },
];

/** The child tables whose rows the writers update, soft-delete and hard-delete by id. */
const CHILD_TABLES = TABLES.slice(1).map((t) => t.name);

async function writer(o: SoakOptions, index: number, deadline: number, stats: SoakResult, client: Sql) {
  const rnd = seededRandom((o.seed ?? 42) * 1000 + index);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  let n = index * 1_000_000;
  while (Date.now() < deadline) {
    const conn = await client.reserve();
    try {
      await conn.unsafe("BEGIN");
      const ops = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < ops; i += 1) {
        n += 1;
        stats.operations += 1;
        const [acct] = await conn<{ id: number }[]>`SELECT id::int AS id FROM attrib.attrib_account ORDER BY random() LIMIT 1`;
        const a = acct?.id;
        const r = rnd();
        if (a === undefined || r < 0.08) {
          await conn`INSERT INTO attrib.attrib_account (token, name, visscore_queue) VALUES (${"s" + n}, ${"Soak " + n}, ${"visscore_main_s" + n})`;
        } else if (r < 0.45) {
          await pick(CHILD_INSERTS)(conn as unknown as Sql, a, n);
        } else if (r < 0.6) {
          const table = pick(CHILD_TABLES);
          await conn.unsafe(`UPDATE ${table} SET updated_at = updated_at WHERE id = (SELECT id FROM ${table} ORDER BY random() LIMIT 1)`);
          await conn`UPDATE attrib_client.attrib_event SET name = ${"ren" + n}, active = ${rnd() < 0.8} WHERE id = (SELECT id FROM attrib_client.attrib_event WHERE account_id = ${a} ORDER BY random() LIMIT 1)`;
        } else if (r < 0.7) {
          await conn`UPDATE attrib.attrib_account SET name = ${"Renamed " + n}, active = ${rnd() < 0.7}, maintenance_until = ${rnd() < 0.3 ? new Date(Date.now() + 3_600_000) : null} WHERE id = ${a}`;
        } else if (r < 0.8) {
          const table = pick(CHILD_TABLES);
          await conn.unsafe(`UPDATE ${table} SET deleted_at = ${rnd() < 0.8 ? "now()" : "NULL"} WHERE id = (SELECT id FROM ${table} ORDER BY random() LIMIT 1)`);
        } else if (r < 0.9) {
          const table = pick(CHILD_TABLES);
          const rows = await conn.unsafe(`DELETE FROM ${table} WHERE id = (SELECT id FROM ${table} ORDER BY random() LIMIT 1)`);
          stats.hardDeletes += rows.count;
        } else if (r < 0.95) {
          await conn`UPDATE attrib.attrib_account SET deleted_at = ${rnd() < 0.6 ? new Date() : null} WHERE id = ${a}`;
        } else {
          // An account and everything under it, in one transaction (T14).
          await conn.unsafe(`DELETE FROM attrib_client.attrib_autoevent_cluster_lookup WHERE account_id = ${a}`);
          for (const table of CHILD_TABLES) {
            if (table === "attrib.attrib_account_group") await conn.unsafe(`DELETE FROM ${table} WHERE account_id = ${a} OR child_account_id = ${a}`);
            else if (!table.endsWith("cluster_lookup")) await conn.unsafe(`DELETE FROM ${table} WHERE account_id = ${a}`);
          }
          await conn.unsafe(`DELETE FROM attrib.attrib_account WHERE id = ${a}`);
          stats.hardDeletes += 1;
        }
        if (rnd() < 0.1) {
          const [other] = await conn<{ id: number }[]>`SELECT id::int AS id FROM attrib.attrib_account WHERE id <> ${a ?? 0} ORDER BY random() LIMIT 1`;
          if (other && a !== undefined) await conn`INSERT INTO attrib.attrib_account_group (account_id, child_account_id) VALUES (${a}, ${other.id})`;
        }
      }
      // The transaction stays open a while: other writers commit around it, the runner refreshes.
      await new Promise((r) => setTimeout(r, rnd() * o.maxTxnMs));
      if (rnd() < 0.1) {
        await conn.unsafe("ROLLBACK");
        stats.rollbacks += 1;
      } else {
        await conn.unsafe("COMMIT");
        stats.commits += 1;
      }
    } catch {
      stats.failed += 1; // a constraint (duplicate edge, FK): the transaction is abandoned
      await conn.unsafe("ROLLBACK").catch(() => {});
    } finally {
      conn.release();
    }
  }
}

/** JSON with keys sorted, so two rows compare by content whatever their key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));

/** Live rows per table, straight from the database (its own query, not the cache's), canonical JSON. */
async function databaseRows(sql: Sql): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { name, map } of TABLES) {
    if (!map) continue;
    const rows = await sql.unsafe(
      `SELECT to_jsonb(x) - 'created_at' - 'updated_at' - 'deleted_at' - 'change_txid' AS r FROM ${name} x WHERE deleted_at IS NULL ORDER BY id`,
    );
    out.set(map, canonical(rows.map((row) => row.r)));
  }
  return out;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const stats: SoakResult = { operations: 0, commits: 0, rollbacks: 0, failed: 0, hardDeletes: 0, truncates: 0, refreshes: 0, differences: [] };
  const applicationName = `soak-listen-${crypto.randomUUID().slice(0, 8)}`;
  const listenSql = createSql(o.url, { max: 1, applicationName });
  const writers = createSql(o.url, { max: o.writers + 1 });
  const cache = new AccountConfigCache();
  const runner = new AccountConfigRunner({ cache, sql: o.sql, log: o.log, pollIntervalMs: o.pollIntervalMs ?? 500, listen: { sql: listenSql, applicationName, probe: o.sql } });
  try {
    await writers.unsafe("INSERT INTO attrib.attrib_account (token, name) SELECT 'seed' || g, 'Seed ' || g FROM generate_series(1, 20) g");
    await runner.start();
    const deadline = Date.now() + o.durationMs;
    const truncate = (async () => {
      await new Promise((r) => setTimeout(r, o.durationMs / 2));
      await writers.unsafe("TRUNCATE attrib_client.attrib_domains");
      stats.truncates += 1;
    })();
    await Promise.all([...Array.from({ length: o.writers }, (_, i) => writer(o, i, deadline, stats, writers)), truncate]);
    // Two refreshes in a row: the second one started after every writer had finished.
    await runner.nextRefresh();
    runner.trigger("soak end");
    await runner.nextRefresh();
    stats.refreshes = cache.generation;

    const fresh = new AccountConfigCache();
    await fresh.refresh(o.sql);
    const doc = (c: AccountConfigCache) => dumpDocument(c.state, { now: 0, xmin: "-" })!;
    const served = doc(cache);
    const direct = doc(fresh);
    const servedById = new Map(served.accounts.map((a) => [a.id, JSON.stringify(a)]));
    const directById = new Map(direct.accounts.map((a) => [a.id, JSON.stringify(a)]));
    for (const id of new Set([...servedById.keys(), ...directById.keys()])) {
      if (servedById.get(id) !== directById.get(id)) stats.differences.push(`account ${id}`);
    }
    if (JSON.stringify(served.defaultPatterns) !== JSON.stringify(direct.defaultPatterns)) stats.differences.push("defaultPatterns");
    const rows = await databaseRows(o.sql);
    for (const [map, json] of rows) {
      const cached = [...cache.state.tables[map as keyof typeof cache.state.tables].rows.values()].sort((a, b) => a.id - b.id);
      if (canonical(cached) !== json) stats.differences.push(`table ${map}`);
    }
    return stats;
  } finally {
    await runner.stop();
    await Promise.all([listenSql.end({ timeout: 1 }), writers.end({ timeout: 1 })]);
  }
}
