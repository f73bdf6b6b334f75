// One function per statement of the broker's schema (./migrations). Times are bound from the broker's
// clock, never the database's now(), so retries, backoff and ages follow the clock tests inject.
// Lists travel as one jsonb parameter (see src/db/missing-tables.ts for why not a text[]).
import type { Sql } from "../db/client.ts";

export type DeliveryFormat = "bearer" | "rfc8935";
export type DeliveryStatus = "pending" | "delivered" | "dead" | "superseded";

export interface ClientRow {
  client_id: string;
  webhook_url: string;
  is_resource_server: boolean;
  delivery_format: DeliveryFormat;
  updated_at: Date;
}

export interface NewDelivery {
  client_id: string;
  uid: string;
  event: string;
  payload: Record<string, unknown>;
  jti: string;
  source_message_id: string | null;
}

/** An outbox row: what was inserted, and its delivery state. */
export interface DeliveryRow extends NewDelivery {
  id: bigint;
  status: DeliveryStatus;
  created_at: Date;
  available_at: Date;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  finished_at: Date | null;
}

export interface AttemptRow {
  delivery_id: bigint;
  attempted_at: Date;
  http_status: number | null;
  latency_ms: number;
  error: string | null;
}

/** A worker's verdict on one claimed delivery. */
export interface DeliveryResult {
  id: bigint;
  /** retry: try again at `nextAt`; deferred: not tried (its endpoint is backed off), no attempt recorded. */
  outcome: "delivered" | "retry" | "dead" | "deferred";
  attemptedAt: Date;
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  nextAt: Date | null;
}

// --- logins (spec §3) ----------------------------------------------------------------------------------

/** storeLogin: true when the pair is new. */
export async function insertLogin(sql: Sql, uid: string, clientId: string): Promise<boolean> {
  const rows = await sql`
    insert into broker_logins (uid, client_id) values (${uid}, ${clientId})
    on conflict (uid, client_id) do nothing returning 1`;
  return rows.length === 1;
}

/** fetchClientIds: in the order first seen. */
export async function selectUserClients(sql: Sql, uid: string): Promise<string[]> {
  const rows = await sql<{ client_id: string }[]>`select client_id from broker_logins where uid = ${uid} order by seq`;
  return rows.map((r) => r.client_id);
}

/** deleteUser: after the delete's fan-out is written. */
export async function deleteLogins(sql: Sql, uid: string): Promise<number> {
  const result = await sql`delete from broker_logins where uid = ${uid}`;
  return result.count;
}

// --- the outbox ----------------------------------------------------------------------------------------

/** '{1,2,3}': a bigint[] parameter sent as text, so the planner sees how many ids there are. */
const idArray = (ids: readonly bigint[]) => `{${ids.join(",")}}`;


/** The fan-out of one event, in the transaction that handled it. */
export async function insertDeliveries(sql: Sql, rows: readonly NewDelivery[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    insert into broker_deliveries (client_id, uid, event, payload, jti, source_message_id, created_at, available_at)
    select r.client_id, r.uid, r.event, r.payload, r.jti, r.source_message_id, ${now}, ${now}
    from jsonb_to_recordset(${sql.json(rows as never)})
      as r(client_id text, uid text, event text, payload jsonb, jti uuid, source_message_id text)`;
}

/**
 * A delete makes the user's undelivered profile and password events for the same clients pointless:
 * they are marked superseded rather than sent after it. Rows a worker holds right now are left alone.
 */
export async function supersedePending(sql: Sql, uid: string, clientIds: readonly string[], events: readonly string[], now: Date): Promise<number> {
  if (clientIds.length === 0) return 0;
  const result = await sql`
    update broker_deliveries set status = 'superseded', finished_at = ${now}
    where uid = ${uid} and status = 'pending'
      and client_id in (select jsonb_array_elements_text(${sql.json([...clientIds])}))
      and event in (select jsonb_array_elements_text(${sql.json([...events])}))
      and (claimed_until is null or claimed_until <= ${now})`;
  return result.count;
}

/**
 * Takes up to `limit` due deliveries for this worker until `leaseUntil`. SKIP LOCKED lets any number of
 * workers claim at once without waiting on each other; the lease (not a held transaction) keeps the rows
 * theirs while they call webhooks, and a worker that dies just lets its lease run out. Rows of
 * `backedOff` clients are left: ones that arrived after their client was deferred would otherwise be
 * claimed only to be written back deferred, a claim and a write each for nothing.
 */
export async function claimDue(sql: Sql, now: Date, leaseUntil: Date, limit: number, backedOff: readonly string[] = []): Promise<DeliveryRow[]> {
  return await sql<DeliveryRow[]>`
    update broker_deliveries d set claimed_until = ${leaseUntil}
    from (
      select id from broker_deliveries
      where status = 'pending' and available_at <= ${now} and (claimed_until is null or claimed_until <= ${now})
        and client_id not in (select jsonb_array_elements_text(${sql.json([...backedOff])}))
      order by available_at, id
      limit ${limit}
      for update skip locked
    ) due
    where d.id = due.id
    returning d.*`;
}

/** Claimed rows a stopping worker did not start: due again at once. */
export async function releaseClaims(sql: Sql, ids: readonly bigint[]): Promise<void> {
  await sql`
    update broker_deliveries set claimed_until = null
    where id = any(${idArray(ids)}::bigint[]) and status = 'pending'`;
}

/**
 * The verdicts of a group of claimed deliveries, with their attempts, in one statement. The rows are
 * found through `id = any(<array>)`: joined only to the jsonb records (which the planner guesses at 100
 * rows), the update scanned every pending row.
 */
export async function recordResults(sql: Sql, results: readonly DeliveryResult[]): Promise<void> {
  if (results.length === 0) return;
  const rows = results.map((r) => ({
    id: String(r.id),
    outcome: r.outcome,
    attempted_at: r.attemptedAt.toISOString(),
    http_status: r.httpStatus,
    latency_ms: Math.round(r.latencyMs),
    error: r.error,
    next_at: r.nextAt?.toISOString() ?? null,
  }));
  await sql`
    with r as (
      select * from jsonb_to_recordset(${sql.json(rows)})
        as r(id bigint, outcome text, attempted_at timestamptz, http_status int, latency_ms int, error text, next_at timestamptz)
    ), attempts as (
      insert into broker_attempts (delivery_id, client_id, attempted_at, http_status, latency_ms, error)
      select r.id, d.client_id, r.attempted_at, r.http_status, r.latency_ms, r.error
      from r join broker_deliveries d on d.id = r.id
      where r.outcome <> 'deferred' and d.id = any(${idArray(results.map((r) => r.id))}::bigint[])
    )
    update broker_deliveries d set
      status = case r.outcome when 'delivered' then 'delivered' when 'dead' then 'dead' else d.status end,
      attempts = d.attempts + case when r.outcome = 'deferred' then 0 else 1 end,
      last_status = case when r.outcome = 'deferred' then d.last_status else r.http_status end,
      last_error = case when r.outcome = 'deferred' then d.last_error else r.error end,
      available_at = coalesce(r.next_at, d.available_at),
      finished_at = case when r.outcome in ('delivered', 'dead') then r.attempted_at else d.finished_at end,
      claimed_until = null
    from r where d.id = any(${idArray(results.map((r) => r.id))}::bigint[]) and d.id = r.id`;
}

/** An endpoint backed off as a whole: its waiting deliveries wait for it, unclaimed and unattempted. */
export async function deferClient(sql: Sql, clientId: string, until: Date, now: Date): Promise<number> {
  const result = await sql`
    update broker_deliveries set available_at = ${until}
    where client_id = ${clientId} and status = 'pending' and available_at < ${until}
      and (claimed_until is null or claimed_until <= ${now})`;
  return result.count;
}

/** The endpoint answers again: what waited for it is due now. */
export async function releaseClient(sql: Sql, clientId: string, now: Date): Promise<number> {
  const result = await sql`
    update broker_deliveries set available_at = ${now}
    where client_id = ${clientId} and status = 'pending' and available_at > ${now}
      and (claimed_until is null or claimed_until <= ${now})`;
  return result.count;
}

export interface DeliverySearch {
  uid?: string;
  clientId?: string;
  status?: DeliveryStatus;
  /** Keyset: only rows older than this id (the last row of the previous page). */
  beforeId?: bigint;
  limit: number;
}

/**
 * One page of deliveries, newest first. The statement is built from the filters given (not `$1 is null or
 * …`), so each shape gets a plan that uses its (key, id) index even once the prepared statement is generic.
 */
export async function searchDeliveries(sql: Sql, search: DeliverySearch): Promise<DeliveryRow[]> {
  const none = sql``;
  return await sql<DeliveryRow[]>`
    select * from broker_deliveries
    where true
      ${search.uid !== undefined ? sql`and uid = ${search.uid}` : none}
      ${search.clientId !== undefined ? sql`and client_id = ${search.clientId}` : none}
      ${search.status !== undefined ? sql`and status = ${search.status}` : none}
      ${search.beforeId !== undefined ? sql`and id < ${String(search.beforeId)}::bigint` : none}
    order by id desc limit ${search.limit}`;
}

export async function selectDelivery(sql: Sql, id: bigint): Promise<DeliveryRow | undefined> {
  const [row] = await sql<DeliveryRow[]>`select * from broker_deliveries where id = ${String(id)}::bigint`;
  return row;
}

export interface ClientAttemptRow extends AttemptRow {
  client_id: string;
}

/** Each client's last `perClient` attempts, newest first: an endpoint's recent health, from any process. */
export async function selectRecentAttemptsByClient(sql: Sql, perClient: number): Promise<ClientAttemptRow[]> {
  return await sql<ClientAttemptRow[]>`
    select c.client_id, a.delivery_id, a.attempted_at, a.http_status, a.latency_ms, a.error
    from broker_clients c
    cross join lateral (
      select delivery_id, attempted_at, http_status, latency_ms, error from broker_attempts
      where client_id = c.client_id order by id desc limit ${perClient}
    ) a
    order by c.client_id, a.attempted_at desc`;
}

export async function selectAttempts(sql: Sql, deliveryIds: readonly bigint[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return await sql<AttemptRow[]>`
    select delivery_id, attempted_at, http_status, latency_ms, error from broker_attempts
    where delivery_id = any(${idArray(deliveryIds)}::bigint[])
    order by delivery_id, id`;
}

/** Replay: a dead (or any unfinished) delivery is due again, with a fresh age. */
export async function retryDelivery(sql: Sql, id: bigint, now: Date): Promise<boolean> {
  const result = await sql`
    update broker_deliveries set status = 'pending', available_at = ${now}, created_at = ${now}, claimed_until = null, finished_at = null
    where id = ${String(id)}::bigint and status in ('dead', 'pending')`;
  return result.count === 1;
}

/** Replay after a relying party's outage: every dead delivery of the client (that died since `since`). */
export async function retryDeadOfClient(sql: Sql, clientId: string, now: Date, since?: Date): Promise<number> {
  const result = await sql`
    update broker_deliveries set status = 'pending', available_at = ${now}, created_at = ${now}, claimed_until = null, finished_at = null
    where client_id = ${clientId} and status = 'dead' ${since ? sql`and finished_at >= ${since}` : sql``}`;
  return result.count;
}

export interface StatusCount {
  client_id: string;
  status: DeliveryStatus;
  count: bigint;
  /** The oldest created_at of the client's pending deliveries (null for other statuses). */
  oldest: Date | null;
}

/** Folds the counters' pending changes (written by the outbox's statement triggers) into the totals. */
export async function foldDeliveryCounts(sql: Sql): Promise<void> {
  await sql`
    with moved as (delete from broker_delivery_count_changes returning client_id, status, delta)
    insert into broker_delivery_counts as c (client_id, status, n)
    select client_id, status, sum(delta) from moved group by client_id, status
    on conflict (client_id, status) do update set n = c.n + excluded.n`;
}

/** Deliveries by client and status, from the maintained counters (not a count of the outbox). */
export async function countByClientAndStatus(sql: Sql): Promise<StatusCount[]> {
  await foldDeliveryCounts(sql);
  return await sql<StatusCount[]>`
    select c.client_id, c.status, c.n as count,
      case when c.status = 'pending' then (
        select min(d.created_at) from broker_deliveries d where d.client_id = c.client_id and d.status = 'pending'
      ) end as oldest
    from broker_delivery_counts c where c.n <> 0 order by c.client_id, c.status`;
}

// --- the client registry -------------------------------------------------------------------------------

export async function selectClients(sql: Sql): Promise<ClientRow[]> {
  return await sql<ClientRow[]>`select client_id, webhook_url, is_resource_server, delivery_format, updated_at from broker_clients order by client_id`;
}

export async function upsertClient(sql: Sql, client: Omit<ClientRow, "updated_at">, now: Date): Promise<void> {
  await sql`
    insert into broker_clients (client_id, webhook_url, is_resource_server, delivery_format, updated_at)
    values (${client.client_id}, ${client.webhook_url}, ${client.is_resource_server}, ${client.delivery_format}, ${now})
    on conflict (client_id) do update set webhook_url = excluded.webhook_url, is_resource_server = excluded.is_resource_server,
      delivery_format = excluded.delivery_format, updated_at = excluded.updated_at`;
}

export async function deleteClient(sql: Sql, clientId: string): Promise<boolean> {
  const result = await sql`delete from broker_clients where client_id = ${clientId}`;
  return result.count === 1;
}
