// One function per statement the cache runs (spec/account-config.md §7). Every read of a refresh happens
// inside one REPEATABLE READ READ ONLY transaction, so the frontier and every table come from one snapshot.
// The table code (`t`) of each row is its position in TABLES (tables.ts); the tombstone code comes last.
import type { Sql } from "../db/client.ts";

/** Where a refresh stands: the snapshot it read, that snapshot's xmin and the TRUNCATE epoch. */
export interface Frontier {
  snapshot: string;
  xmin: string;
  epoch: string;
}

/**
 * One row of a change set: table code, soft-deleted, the row's columns. Each table's columns are listed
 * once per statement, in the same order in both (so equal rows serialise to equal bytes); the
 * bookkeeping columns (created_at, updated_at, deleted_at, change_txid) are left out. json_build_object
 * over named columns costs a third of `to_jsonb(x) - 'created_at' - …`, which rebuilds the value per key.
 */
export interface ChangeRow {
  t: number;
  d: boolean;
  r: Record<string, unknown>;
}

/**
 * The snapshot of this transaction and the epoch. Two transaction-local settings ride along so they cost
 * no extra round trip: a statement timeout (a refresh never hangs on a lock) and custom plans, so the
 * planner sees the literal xmin of the delta and keeps its index range scans.
 */
export async function readFrontier(tx: Sql, statementTimeoutMs: number): Promise<Frontier> {
  const [row] = await tx<Frontier[]>`
    SELECT pg_current_snapshot()::text AS snapshot,
           pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
           (SELECT epoch::text FROM attrib.config_epoch) AS epoch,
           set_config('statement_timeout', ${String(statementTimeoutMs)}, true) AS _timeout,
           set_config('plan_cache_mode', 'force_custom_plan', true) AS _plan`;
  if (!row?.epoch) throw new Error("attrib.config_epoch has no row: run `account-config migrate`");
  return { snapshot: row.snapshot, xmin: row.xmin, epoch: row.epoch };
}

/**
 * Every live row of every table: the full load (at start, on an epoch change, hourly). It reads every
 * row, so it gets its own, longer statement timeout (2.4M rows at 100k accounts take seconds).
 */
export async function readAllRows(tx: Sql, statementTimeoutMs: number): Promise<ChangeRow[]> {
  await tx`SELECT set_config('statement_timeout', ${String(statementTimeoutMs)}, true)`;
  return tx<ChangeRow[]>`
      SELECT 0 AS t, false AS d, json_build_object('id', x.id, 'token', x.token, 'name', x.name, 'active', x.active, 'maintenance_until', x.maintenance_until, 'timezone', x.timezone, 'connection_strings', x.connection_strings, 'visscore_queue', x.visscore_queue) AS r FROM attrib.attrib_account x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 1, false, json_build_object('id', x.id, 'account_id', x.account_id, 'name', x.name, 'display_name', x.display_name, 'active', x.active, 'attributes', x.attributes) FROM attrib_client.attrib_event x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 2, false, json_build_object('id', x.id, 'account_id', x.account_id, 'referer_id', x.referer_id, 'pattern', x.pattern, 'priority', x.priority, 'active', x.active) FROM attrib_client.attrib_pattern x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 3, false, json_build_object('id', x.id, 'account_id', x.account_id, 'name', x.name, 'active', x.active) FROM attrib_client.attrib_autoevent_cluster x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 4, false, json_build_object('id', x.id, 'account_id', x.account_id, 'cluster_id', x.cluster_id, 'event_id', x.event_id, 'url', x.url, 'match_type', x.match_type) FROM attrib_client.attrib_autoevent_cluster_lookup x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 5, false, json_build_object('id', x.id, 'account_id', x.account_id, 'cookie_name', x.cookie_name, 'value_regex', x.value_regex, 'active', x.active) FROM attrib_client.attrib_client_cookie x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 6, false, json_build_object('id', x.id, 'account_id', x.account_id, 'token', x.token, 'replacement', x.replacement, 'position', x.position) FROM attrib_client.attrib_path_replacements x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 7, false, json_build_object('id', x.id, 'account_id', x.account_id, 'name', x.name, 'url', x.url, 'active', x.active) FROM attrib_client.attrib_endpoints x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 8, false, json_build_object('id', x.id, 'account_id', x.account_id, 'domain', x.domain) FROM attrib_client.attrib_domains x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 9, false, json_build_object('id', x.id, 'account_id', x.account_id, 'ip', x.ip, 'mode', x.mode, 'note', x.note) FROM attrib_client.attrib_blacklist_ip x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 10, false, json_build_object('id', x.id, 'account_id', x.account_id, 'visitor', x.visitor, 'mode', x.mode, 'note', x.note) FROM attrib_client.attrib_blacklist_visitors x WHERE x.deleted_at IS NULL
      UNION ALL SELECT 11, false, json_build_object('id', x.id, 'account_id', x.account_id, 'child_account_id', x.child_account_id) FROM attrib.attrib_account_group x WHERE x.deleted_at IS NULL`;
}

/**
 * The rows written by transactions that the previous snapshot did not see (PgQ's batch rule:
 * txid >= xmin(prev) and not visible in prev), soft-deleted ones included, plus the tombstones of hard
 * deletes. One statement for all tables: an idle refresh is one round trip (goal G4).
 */
export async function readChangedRows(tx: Sql, previous: Frontier): Promise<ChangeRow[]> {
  const xmin = previous.xmin;
  const snap = previous.snapshot;
  return tx<ChangeRow[]>`
      SELECT 0 AS t, x.deleted_at IS NOT NULL AS d, json_build_object('id', x.id, 'token', x.token, 'name', x.name, 'active', x.active, 'maintenance_until', x.maintenance_until, 'timezone', x.timezone, 'connection_strings', x.connection_strings, 'visscore_queue', x.visscore_queue) AS r FROM attrib.attrib_account x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 1, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'name', x.name, 'display_name', x.display_name, 'active', x.active, 'attributes', x.attributes) FROM attrib_client.attrib_event x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 2, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'referer_id', x.referer_id, 'pattern', x.pattern, 'priority', x.priority, 'active', x.active) FROM attrib_client.attrib_pattern x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 3, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'name', x.name, 'active', x.active) FROM attrib_client.attrib_autoevent_cluster x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 4, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'cluster_id', x.cluster_id, 'event_id', x.event_id, 'url', x.url, 'match_type', x.match_type) FROM attrib_client.attrib_autoevent_cluster_lookup x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 5, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'cookie_name', x.cookie_name, 'value_regex', x.value_regex, 'active', x.active) FROM attrib_client.attrib_client_cookie x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 6, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'token', x.token, 'replacement', x.replacement, 'position', x.position) FROM attrib_client.attrib_path_replacements x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 7, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'name', x.name, 'url', x.url, 'active', x.active) FROM attrib_client.attrib_endpoints x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 8, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'domain', x.domain) FROM attrib_client.attrib_domains x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 9, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'ip', x.ip, 'mode', x.mode, 'note', x.note) FROM attrib_client.attrib_blacklist_ip x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 10, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'visitor', x.visitor, 'mode', x.mode, 'note', x.note) FROM attrib_client.attrib_blacklist_visitors x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 11, x.deleted_at IS NOT NULL, json_build_object('id', x.id, 'account_id', x.account_id, 'child_account_id', x.child_account_id) FROM attrib.attrib_account_group x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)
      UNION ALL SELECT 12, false, json_build_object('table_name', x.table_name, 'row_id', x.row_id) FROM attrib.config_tombstone x WHERE x.change_txid >= ${xmin}::xid8 AND NOT pg_visible_in_snapshot(x.change_txid, ${snap}::pg_snapshot)`;
}

/**
 * Restored xids can be ahead of this cluster's counter; such rows would be re-read by every refresh
 * (§4). True when any stamp is at or past the current snapshot's xmax: `migrate --reset-txids` fixes it.
 */
export async function hasFutureTxids(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ future: boolean }[]>`
    SELECT coalesce(max(m), '0'::xid8) >= pg_snapshot_xmax(pg_current_snapshot()) AS future FROM (
      SELECT max(change_txid) AS m FROM attrib.attrib_account
      UNION ALL SELECT max(change_txid) FROM attrib.attrib_account_group
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_event
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_pattern
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_autoevent_cluster
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_autoevent_cluster_lookup
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_client_cookie
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_path_replacements
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_endpoints
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_domains
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_blacklist_ip
      UNION ALL SELECT max(change_txid) FROM attrib_client.attrib_blacklist_visitors
      UNION ALL SELECT max(change_txid) FROM attrib.config_tombstone) AS stamps`;
  return row!.future;
}

/**
 * `migrate --reset-txids`, after a pg_dump/restore into another cluster: every stamp becomes this
 * transaction's xid, and the epoch moves so every running cache reloads fully. The touch trigger is
 * switched off for the update only, so updated_at keeps its value (it is informational).
 */
export async function resetTxids(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe(`
      DO $$ DECLARE t text; BEGIN
        FOREACH t IN ARRAY ARRAY['attrib.attrib_account','attrib.attrib_account_group',
          'attrib_client.attrib_event','attrib_client.attrib_pattern','attrib_client.attrib_autoevent_cluster',
          'attrib_client.attrib_autoevent_cluster_lookup','attrib_client.attrib_client_cookie',
          'attrib_client.attrib_path_replacements','attrib_client.attrib_endpoints','attrib_client.attrib_domains',
          'attrib_client.attrib_blacklist_ip','attrib_client.attrib_blacklist_visitors'] LOOP
          EXECUTE format('ALTER TABLE %s DISABLE TRIGGER touch', t);
          EXECUTE format('UPDATE %s SET change_txid = pg_current_xact_id()', t);
          EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER touch', t);
        END LOOP;
        UPDATE attrib.config_tombstone SET change_txid = pg_current_xact_id();
        UPDATE attrib.config_epoch SET epoch = epoch + 1, change_txid = pg_current_xact_id();
      END $$`);
  });
}

/**
 * Whether the LISTEN session of a runner still exists. postgres.js listens again by itself after its
 * connection drops, but gives up silently when the database does not answer at that moment; the loop
 * finds out here, by the unique application_name of its LISTEN client.
 */
export async function listenSessionAlive(sql: Sql, applicationName: string): Promise<boolean> {
  const [row] = await sql<{ alive: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = ${applicationName} AND query ILIKE 'listen%') AS alive`;
  return row!.alive;
}
