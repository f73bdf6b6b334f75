// One function per statement of database.py (spec/tokenserver.md §2), against the syncstorage-rs schema.
// Every statement autocommits on its own, as the original's AUTOCOMMIT connection does: no transactions.
import type { Sql } from "../db/client.ts";

export interface UserRow {
  uid: bigint;
  node: string | null;
  generation: bigint;
  keys_changed_at: bigint | null;
  client_state: string;
  created_at: bigint;
  replaced_at: bigint | null;
}

export interface OldUserRow {
  uid: bigint;
  email: string;
  generation: bigint;
  keys_changed_at: bigint | null;
  client_state: string;
  node: string | null;
  downed: number | null;
  created_at: bigint;
  replaced_at: bigint;
}

export interface UserSummaryRow {
  uid: bigint;
  node: string | null;
  created_at: bigint;
  replaced_at: bigint | null;
}

export interface NodeTableRow {
  id: bigint;
  service: number;
  node: string;
  available: number;
  current_load: number;
  capacity: number;
  downed: number;
  backoff: number;
}

/** A uid bound as the CLI gives it (a string) or as code gives it (a bigint). */
export type UidBound = bigint | string;

// --- services -------------------------------------------------------------------------------------------

export async function selectServiceId(sql: Sql, service: string): Promise<number | null> {
  const rows = await sql<{ id: number }[]>`select id from services where service = ${service}`;
  return rows[0]?.id ?? null;
}

/** database.py add_service; used by test fixtures and admin tools. */
export async function insertService(sql: Sql, service: string, pattern: string): Promise<number> {
  const rows = await sql<{ id: number }[]>`
    insert into services (service, pattern) values (${service}, ${pattern}) returning id`;
  return rows[0]!.id;
}

// --- users ----------------------------------------------------------------------------------------------

/** _GET_USER_RECORDS: the newest 20 rows; get_user re-sorts them by (generation, created_at). */
export async function selectUserRecords(sql: Sql, service: number, email: string): Promise<UserRow[]> {
  return await sql<UserRow[]>`
    select uid, nodes.node, generation, keys_changed_at, client_state, created_at, replaced_at
    from users left outer join nodes on users.nodeid = nodes.id
    where email = ${email} and users.service = ${service}
    order by created_at desc, uid desc
    limit 20`;
}

export interface NewUserRecord {
  service: number;
  email: string;
  nodeId: bigint;
  generation: bigint;
  keysChangedAt: bigint | null;
  clientState: string;
  timestamp: bigint;
}

/** _CREATE_USER_RECORD (the PostgreSQL flavour, with RETURNING uid). */
export async function insertUserRecord(sql: Sql, r: NewUserRecord): Promise<bigint> {
  const rows = await sql<{ uid: bigint }[]>`
    insert into users (service, email, nodeid, generation, keys_changed_at, client_state, created_at, replaced_at)
    values (${r.service}, ${r.email}, ${r.nodeId}, ${r.generation}, ${r.keysChangedAt}, ${r.clientState},
            ${r.timestamp}, NULL)
    returning uid`;
  return rows[0]!.uid;
}

/**
 * _UPDATE_USER_RECORD_IN_PLACE. The WHERE keeps concurrent updates from moving generation or
 * keys_changed_at backwards; a NULL keys_changed_at counts as 0.
 */
export async function updateUserRecordInPlace(
  sql: Sql,
  p: { service: number; email: string; generation: bigint | null; keysChangedAt: bigint | null },
): Promise<number> {
  const result = await sql`
    update users set
      generation = COALESCE(${p.generation}::bigint, generation),
      keys_changed_at = COALESCE(${p.keysChangedAt}::bigint, keys_changed_at)
    where service = ${p.service} and email = ${p.email}
      and generation <= COALESCE(${p.generation}::bigint, generation)
      and COALESCE(keys_changed_at, 0) <= COALESCE(${p.keysChangedAt}::bigint, keys_changed_at, 0)
      and replaced_at is null`;
  return result.count;
}

/** _REPLACE_USER_RECORDS: rows created in the same millisecond as `timestamp` stay active. */
export async function replaceUserRecords(sql: Sql, service: number, email: string, timestamp: bigint): Promise<number> {
  const result = await sql`
    update users set replaced_at = ${timestamp}
    where service = ${service} and email = ${email} and replaced_at is null and created_at < ${timestamp}`;
  return result.count;
}

/** _RETIRE_USER_RECORDS. No service filter, as in the original: a deleted account is retired everywhere. */
export async function retireUserRecords(
  sql: Sql,
  email: string,
  timestamp: bigint,
  generation: bigint,
): Promise<number> {
  const result = await sql`
    update users set replaced_at = ${timestamp}, generation = ${generation}
    where email = ${email} and replaced_at is null`;
  return result.count;
}

/** _REPLACE_USER_RECORD: marks one row replaced, whatever its state. */
export async function replaceUserRecord(sql: Sql, service: number, uid: bigint, timestamp: bigint): Promise<number> {
  const result = await sql`
    update users set replaced_at = ${timestamp} where service = ${service} and uid = ${uid}`;
  return result.count;
}

/**
 * _GET_OLD_USER_RECORDS_FOR_SERVICE[_RANGE]. No ORDER BY (dropped upstream in PR #2302: sorting the whole
 * backlog on every batch was too costly). Each bound is exclusive and applied only when given.
 */
export async function selectOldUserRecords(
  sql: Sql,
  p: {
    service: number;
    timestamp: bigint;
    limit: number;
    offset: number;
    start: UidBound | null;
    end: UidBound | null;
    /** purge-old-records: uids this run already holds or gave up on. */
    excludeUids?: readonly bigint[];
    /** purge-old-records: nodes whose lanes are full for now. */
    excludeNodes?: readonly string[];
    /** purge-old-records without --force: rows on downed nodes are never purged, so do not fetch them. */
    skipDowned?: boolean;
    /** Keyset paging for --dryrun, which deletes nothing and so must move past what it has seen. */
    afterUid?: bigint;
  },
): Promise<OldUserRow[]> {
  const start = p.start !== null ? sql`and uid > ${p.start}` : sql``;
  const end = p.end !== null ? sql`and uid < ${p.end}` : sql``;
  const excludeUids = p.excludeUids?.length ? sql`and uid <> all(${p.excludeUids.map(String)}::bigint[])` : sql``;
  const excludeNodes = p.excludeNodes?.length ? sql`and (nodes.node is null or nodes.node <> all(${[...p.excludeNodes]}::text[]))` : sql``;
  const skipDowned = p.skipDowned ? sql`and (nodes.downed is null or nodes.downed = 0)` : sql``;
  const after = p.afterUid !== undefined ? sql`and uid > ${p.afterUid}` : sql``;
  const order = p.afterUid !== undefined ? sql`order by uid` : sql``;
  return await sql<OldUserRow[]>`
    select uid, email, generation, keys_changed_at, client_state, nodes.node, nodes.downed, created_at, replaced_at
    from users left outer join nodes on users.nodeid = nodes.id
    where users.service = ${p.service} ${start} ${end} ${excludeUids} ${excludeNodes} ${skipDowned} ${after}
      and replaced_at is not null and replaced_at < ${p.timestamp}
    ${order}
    limit ${p.limit} offset ${p.offset}`;
}

/** _COUNT_OLD_USER_RECORDS: the purge backlog; the uid range is deliberately not applied (as upstream). */
export async function countOldUserRecords(sql: Sql, service: number, timestamp: bigint): Promise<bigint> {
  const rows = await sql<{ count: bigint }[]>`
    select count(*) from users
    where users.service = ${service} and replaced_at is not null and replaced_at < ${timestamp}`;
  return rows[0]!.count;
}

/** _GET_ALL_USER_RECORDS_FOR_SERVICE (get_user_records). */
export async function selectAllUserRecords(sql: Sql, service: number, email: string): Promise<UserSummaryRow[]> {
  return await sql<UserSummaryRow[]>`
    select uid, nodes.node, created_at, replaced_at
    from users left outer join nodes on users.nodeid = nodes.id
    where email = ${email} and users.service = ${service}
    order by created_at asc, uid desc`;
}

/**
 * _FREE_SLOT_ON_NODE and _DELETE_USER_RECORD in one statement: the same end state as the original's two
 * autocommitted statements, in one round trip, and a slot is never freed for a row that stays.
 */
export async function deleteUserRecordFreeingSlot(sql: Sql, service: number, uid: bigint): Promise<number> {
  const result = await sql`
    with gone as (delete from users where service = ${service} and uid = ${uid} returning nodeid)
    update nodes set available = available + 1, current_load = current_load - 1
    where id = (select nodeid from gone)`;
  return result.count;
}

/** _DELETE_USER_RECORD */
export async function deleteUserRecord(sql: Sql, service: number, uid: bigint): Promise<number> {
  const result = await sql`delete from users where service = ${service} and uid = ${uid}`;
  return result.count;
}

/** _COUNT_USER_RECORDS (count_users): active rows created by `timestamp`, across services, as upstream. */
export async function countUserRecords(sql: Sql, timestamp: bigint): Promise<bigint> {
  const rows = await sql<{ count: bigint }[]>`
    select count(email) from users where replaced_at is null and created_at <= ${timestamp}`;
  return rows[0]!.count;
}

/** database.py unassign_node: every row on the node is (re)marked replaced, with no service filter. */
export async function unassignNodeUsers(sql: Sql, nodeId: bigint, timestamp: bigint): Promise<number> {
  const result = await sql`update users set replaced_at = ${timestamp} where nodeid = ${nodeId}`;
  return result.count;
}

// --- nodes ----------------------------------------------------------------------------------------------

/**
 * _GET_BEST_NODE_POSTGRES: the least loaded node by log(load)/log(capacity); an empty node (NULL) comes
 * first. capacity = 1 with a non-zero load divides by ln(1) = 0 and fails, as upstream.
 */
export async function selectBestNode(sql: Sql, service: number): Promise<{ id: bigint; node: string } | null> {
  const rows = await sql<{ id: bigint; node: string }[]>`
    select id, node from nodes
    where service = ${service} and available > 0 and capacity > current_load and downed = 0 and backoff = 0
    order by ln(NULLIF(current_load, 0)) / ln(capacity) NULLS FIRST
    limit 1`;
  return rows[0] ?? null;
}

/**
 * _RELEASE_NODE_CAPACITY. The rate is numeric, as the Python float literal is, so the integer column
 * rounds half away from zero (capacity 5 at 0.1 releases 1 slot).
 */
export async function releaseNodeCapacity(sql: Sql, service: number, rate: number): Promise<number> {
  const result = await sql`
    update nodes set available = least(capacity * ${rate}::numeric, capacity - current_load)
    where service = ${service} and available <= 0 and capacity > current_load and downed = 0`;
  return result.count;
}

/** _ADD_USER_TO_NODE: by name, like the original. */
export async function addUserToNode(sql: Sql, service: number, node: string): Promise<number> {
  const result = await sql`
    update nodes set current_load = current_load + 1, available = greatest(available - 1, 0)
    where service = ${service} and node = ${node}`;
  return result.count;
}

export async function selectNodeId(sql: Sql, service: number, node: string): Promise<bigint | null> {
  const rows = await sql<{ id: bigint }[]>`select id from nodes where service = ${service} and node = ${node}`;
  return rows[0]?.id ?? null;
}

export async function selectNode(sql: Sql, service: number, node: string): Promise<NodeTableRow | null> {
  const rows = await sql<NodeTableRow[]>`
    select id, service, node, available, current_load, capacity, downed, backoff
    from nodes where service = ${service} and node = ${node}`;
  return rows[0] ?? null;
}

/**
 * _GET_SPANNER_NODE: by id only (no service filter). The id is bound as the environment gives it, a
 * string, and PostgreSQL casts it, so a non-numeric id fails the way it does upstream.
 */
export async function selectSpannerNode(sql: Sql, id: string): Promise<{ id: bigint; node: string } | null> {
  const rows = await sql<{ id: bigint; node: string }[]>`select id, node from nodes where id = ${id} limit 1`;
  return rows[0] ?? null;
}

export interface NewNode {
  service: number;
  node: string;
  available: number;
  capacity: number;
  currentLoad: number;
  downed: number;
  backoff: number;
  /** An explicit id (database.py's `nodeid` keyword); the identity column assigns one otherwise. */
  id: bigint | null;
}

export async function insertNode(sql: Sql, n: NewNode): Promise<bigint> {
  const rows =
    n.id === null
      ? await sql<{ id: bigint }[]>`
          insert into nodes (service, node, available, capacity, current_load, downed, backoff)
          values (${n.service}, ${n.node}, ${n.available}, ${n.capacity}, ${n.currentLoad}, ${n.downed}, ${n.backoff})
          returning id`
      : await sql<{ id: bigint }[]>`
          insert into nodes (service, node, available, capacity, current_load, downed, backoff, id)
          values (${n.service}, ${n.node}, ${n.available}, ${n.capacity}, ${n.currentLoad}, ${n.downed}, ${n.backoff},
                  ${n.id})
          returning id`;
  return rows[0]!.id;
}

/** database.py update_node: only the given columns change (NULL keeps the current value). */
export async function updateNodeFields(
  sql: Sql,
  service: number,
  node: string,
  f: {
    capacity: number | null;
    available: number | null;
    currentLoad: number | null;
    downed: number | null;
    backoff: number | null;
  },
): Promise<number> {
  const result = await sql`
    update nodes set
      capacity = COALESCE(${f.capacity}::integer, capacity),
      available = COALESCE(${f.available}::integer, available),
      current_load = COALESCE(${f.currentLoad}::integer, current_load),
      downed = COALESCE(${f.downed}::integer, downed),
      backoff = COALESCE(${f.backoff}::integer, backoff)
    where service = ${service} and node = ${node}`;
  return result.count;
}

/** database.py remove_node's DELETE: by id, with no service filter. */
export async function deleteNode(sql: Sql, nodeId: bigint): Promise<number> {
  const result = await sql`delete from nodes where id = ${nodeId}`;
  return result.count;
}

// --- schema check (the tables themselves: src/db/missing-tables.ts) --------------------------------------

/** Selects every column the repository uses, so a schema drift fails here rather than mid-run. */
export async function probeColumns(sql: Sql): Promise<void> {
  await sql`select id, service, pattern from services limit 0`;
  await sql`select id, service, node, available, current_load, capacity, downed, backoff from nodes limit 0`;
  await sql`
    select uid, service, email, generation, client_state, created_at, replaced_at, nodeid, keys_changed_at
    from users limit 0`;
}
