// SQL for email_callers and email_send_counters: one function per statement, `sql` passed in.
import { arrayLiteral } from "../db/array-literal.ts";
import type { Sql } from "../db/client.ts";

/** A caller as stored: token digests, never tokens. Limits are null when not configured. */
export interface CallerRow {
  name: string;
  tokenHash: Buffer;
  previousHash: Buffer | null;
  /** ms; the previous token is refused from then on. */
  previousUntil: number | null;
  rateLimit: number | null;
  ratePeriodMs: number | null;
  recipientLimit: number | null;
  recipientPeriodMs: number | null;
  createdAt: number;
  rotatedAt: number | null;
}

interface Row {
  name: string;
  token_hash: Buffer;
  previous_hash: Buffer | null;
  previous_until: bigint | null;
  rate_limit: number | null;
  rate_period_ms: bigint | null;
  recipient_limit: number | null;
  recipient_period_ms: bigint | null;
  created_at: bigint;
  rotated_at: bigint | null;
}

const num = (value: bigint | null) => (value === null ? null : Number(value));

const toCaller = (row: Row): CallerRow => ({
  name: row.name,
  tokenHash: row.token_hash,
  previousHash: row.previous_hash,
  previousUntil: num(row.previous_until),
  rateLimit: row.rate_limit,
  ratePeriodMs: num(row.rate_period_ms),
  recipientLimit: row.recipient_limit,
  recipientPeriodMs: num(row.recipient_period_ms),
  createdAt: Number(row.created_at),
  rotatedAt: num(row.rotated_at),
});

export type NewCaller = Pick<CallerRow, "name" | "tokenHash" | "rateLimit" | "ratePeriodMs" | "recipientLimit" | "recipientPeriodMs" | "createdAt">;

/** false when a caller of that name exists (nothing is changed then). */
export async function insertCaller(sql: Sql, caller: NewCaller): Promise<boolean> {
  const rows = await sql`
    insert into email_callers (name, token_hash, rate_limit, rate_period_ms, recipient_limit, recipient_period_ms, created_at)
    values (${caller.name}, ${caller.tokenHash}, ${caller.rateLimit}, ${caller.ratePeriodMs}, ${caller.recipientLimit}, ${caller.recipientPeriodMs}, ${caller.createdAt})
    on conflict (name) do nothing
    returning name`;
  return rows.length === 1;
}

export async function fetchCallers(sql: Sql): Promise<CallerRow[]> {
  return (await sql<Row[]>`select * from email_callers order by name`).map(toCaller);
}

/**
 * The callers named (absent names are left out) and whether any caller exists at all, in one round
 * trip: the answer to "who is this token's caller, and is /send open?" for a batch of requests.
 */
export async function fetchCallersNamed(sql: Sql, names: readonly string[]): Promise<{ anyCallers: boolean; callers: Map<string, CallerRow> }> {
  const rows = await sql<(Partial<Row> & { any_callers: boolean })[]>`
    select (select exists (select 1 from email_callers)) as any_callers, c.*
    from (select 1) as one left join email_callers c on c.name = any(${arrayLiteral(names)}::text[])`;
  const callers = new Map<string, CallerRow>();
  for (const row of rows) if (row.name) callers.set(row.name, toCaller(row as Row));
  return { anyCallers: rows[0]?.any_callers ?? false, callers };
}

/**
 * Deletes a caller and its counters (so a new caller of that name starts from zero); false when absent.
 * Holds the caller's take lock (email_send_take), so it never deadlocks with a take in flight.
 */
export async function deleteCaller(sql: Sql, name: string): Promise<boolean> {
  const [row] = await sql<[{ deleted: bigint }]>`
    with lock as (select pg_advisory_xact_lock(hashtextextended('email_send_take ' || ${name}::text, 0))),
    gone as (delete from email_callers where name = ${name} and exists (select from lock) returning name),
    counters as (delete from email_send_counters where key >= ${name + "\n"} and key < ${name + "\u000b"} and exists (select from gone))
    select count(*) as deleted from gone`;
  return row.deleted > 0n;
}

/** The new digest becomes current; the current one is accepted until `previousUntil`. false when absent. */
export async function rotateCallerToken(sql: Sql, name: string, tokenHash: Buffer, previousUntil: number, now: number): Promise<boolean> {
  const rows = await sql`
    update email_callers set previous_hash = token_hash, previous_until = ${previousUntil}, token_hash = ${tokenHash}, rotated_at = ${now}
    where name = ${name} returning name`;
  return rows.length === 1;
}

export interface CounterRow {
  address: string;
  windowStart: number;
  windowEnd: number;
  count: number;
}

/**
 * A caller's counters whose window is still open at `now`: its own ('' address) and its `top` busiest
 * recipients, with how many recipients are counted in all.
 */
export async function fetchOpenCounters(sql: Sql, caller: string, now: number, top: number): Promise<{ own?: CounterRow; recipients: CounterRow[]; recipientCount: number }> {
  // The caller's counters are the keys from "<caller>\n" up to (not including) "<caller>\v".
  const rows = await sql<{ address: string; window_start: bigint; window_end: bigint; count: number; total: bigint }[]>`
    select substr(key, ${caller.length + 2}) as address, window_start, window_end, count,
           count(*) filter (where key <> ${caller + "\n"}) over () as total
    from email_send_counters
    where key >= ${caller + "\n"} and key < ${caller + "\u000b"} and window_end > ${now} and count > 0
    order by key = ${caller + "\n"} desc, count desc, key
    limit ${top + 1}`;
  const toCounter = (r: (typeof rows)[number]): CounterRow => ({ address: r.address, windowStart: Number(r.window_start), windowEnd: Number(r.window_end), count: r.count });
  const own = rows.find((r) => r.address === "");
  return {
    ...(own ? { own: toCounter(own) } : {}),
    recipients: rows.filter((r) => r.address !== "").slice(0, top).map(toCounter),
    recipientCount: Number(rows[0]?.total ?? 0n),
  };
}

/** One recipient's open counters, by caller: one primary-key lookup per caller named. */
export async function fetchRecipientCounters(sql: Sql, callers: readonly string[], address: string, now: number): Promise<Map<string, CounterRow>> {
  const found = new Map<string, CounterRow>();
  if (callers.length === 0) return found;
  const rows = await sql<{ key: string; window_start: bigint; window_end: bigint; count: number }[]>`
    select key, window_start, window_end, count from email_send_counters
    where key = any(${arrayLiteral(callers.map((c) => `${c}\n${address}`))}::text[]) and window_end > ${now}`;
  for (const r of rows) {
    const caller = r.key.slice(0, r.key.indexOf("\n"));
    found.set(caller, { address, windowStart: Number(r.window_start), windowEnd: Number(r.window_end), count: r.count });
  }
  return found;
}

/** Deletes counters whose window has ended (at most `batch`; rows a take holds are left for next time); returns how many. */
export async function deleteEndedCounters(sql: Sql, now: number, batch = 1000): Promise<number> {
  const result = await sql`
    delete from email_send_counters where ctid in (
      select ctid from email_send_counters where window_end <= ${now} limit ${batch} for update skip locked)`;
  // No index on window_end (it would cost every take a write): this scans, every 10 minutes.
  return result.count;
}

/** One counter to take from: the caller's own (address '') or one of its recipients'. */
export interface TakeEntry {
  caller: string;
  address: string;
  limit: number;
  periodMs: number;
}

export interface TakeResult {
  taken: boolean;
  /** Index (in the request's entries) of the first counter that refused. */
  refusedEntry: number | null;
  /** ms until every refusing window has ended. */
  retryAfterMs: number;
}

export const counterKey = (e: { caller: string; address: string }) => `${e.caller}\n${e.address}`;

/** Sends counted ahead of need for one counter (./send-lease.ts): `units` more than the batch asks. */
export interface LeaseAsk {
  entry: TakeEntry;
  units: number;
}

/**
 * The common case of a batch in one plain statement: when every counter has room for all the batch
 * asks of it (its leases included), all of it is counted (new counters created) and every request is
 * taken. Rows are created and locked in key order, so concurrent statements never deadlock. When some
 * counter lacks room it is left alone, and the keys that were counted are returned: the caller gives
 * back their sends and keeps their leases (those units were counted with room for them).
 */
async function takeAllIfRoom(sql: Sql, entries: readonly TakeEntry[], leases: readonly LeaseAsk[], now: number): Promise<{ wanted: number; counted: number; keys: string[] }> {
  const extra = new Map(leases.map((l) => [counterKey(l.entry), l.units]));
  const [row] = await sql<[{ wanted: number; counted: number; keys: string[] | null }]>`
    with wanted as (
      select k, count(*)::integer + min(x) as n, min(lim) as lim, min(period) as period
      from unnest(${arrayLiteral(entries.map(counterKey))}::text[], ${arrayLiteral(entries.map((e) => e.limit))}::integer[],
                  ${arrayLiteral(entries.map((e) => e.periodMs))}::bigint[], ${arrayLiteral(entries.map((e) => extra.get(counterKey(e)) ?? 0))}::integer[]) as u(k, lim, period, x)
      group by k
    ), counted as (
      insert into email_send_counters as c (key, window_start, window_end, count)
      select w.k, ${now}::bigint - ${now}::bigint % w.period, ${now}::bigint - ${now}::bigint % w.period + w.period, w.n
      from wanted w where w.n <= w.lim order by w.k collate "C"
      on conflict (key) do update set
        count = case when c.window_start = excluded.window_start and c.window_end = excluded.window_end then c.count else 0 end + excluded.count,
        window_start = excluded.window_start, window_end = excluded.window_end
      where case when c.window_start = excluded.window_start and c.window_end = excluded.window_end then c.count else 0 end + excluded.count
            <= (select w.lim from wanted w where w.k = c.key)
      returning c.key
    )
    -- One row: the keys counted only when some were not (the common case needs just the two counts).
    select (select count(*) from wanted)::integer as wanted, count(*)::integer as counted,
      case when count(*) < (select count(*) from wanted) then array_agg(key) end as keys
    from counted`;
  return { wanted: row.wanted, counted: row.counted, keys: row.keys ?? [] };
}

export interface TakeBatchResult {
  results: TakeResult[];
  /** The leases counted: every ask when the batch fitted, else those of the counters that had room. */
  leased: LeaseAsk[];
}

/**
 * Takes sends for a batch of requests, each all or nothing, in order: the plain statement above when
 * everything fits (the common case), else what it counted is given back (its leases kept) and
 * email_send_take (migration 3) decides request by request. `leases` must name keys of the batch.
 */
export async function takeSends(sql: Sql, requests: readonly (readonly TakeEntry[])[], now: number, leases: readonly LeaseAsk[] = []): Promise<TakeBatchResult> {
  const all = requests.flat();
  const results: TakeResult[] = requests.map(() => ({ taken: true, refusedEntry: null, retryAfterMs: 0 }));
  if (all.length === 0) return { results, leased: [] };
  const fast = await takeAllIfRoom(sql, all, leases, now);
  if (fast.counted === fast.wanted) return { results, leased: [...leases] };
  const counted = new Set(fast.keys);
  if (counted.size > 0) await giveBackSends(sql, all.filter((e) => counted.has(counterKey(e))).map((e) => ({ ...e, takenAt: now })));
  const leased = leases.filter((l) => counted.has(counterKey(l.entry)));
  const request: number[] = [];
  const caller: string[] = [];
  const address: string[] = [];
  const limit: number[] = [];
  const period: number[] = [];
  requests.forEach((entries, i) => {
    for (const e of entries) {
      request.push(i);
      caller.push(e.caller);
      address.push(e.address);
      limit.push(e.limit);
      period.push(e.periodMs);
    }
  });
  const rows = await sql<{ taken_request: number; taken: boolean; refused_entry: number | null; retry_after_ms: bigint }[]>`
    select * from email_send_take(
      ${arrayLiteral(request)}::int[], ${arrayLiteral(caller)}::text[], ${arrayLiteral(address)}::text[],
      ${arrayLiteral(limit)}::int[], ${arrayLiteral(period)}::bigint[], ${now}::bigint)`;
  for (const row of rows) results[row.taken_request] = { taken: row.taken, refusedEntry: row.refused_entry, retryAfterMs: Number(row.retry_after_ms) };
  return { results, leased };
}

/** email_send_give_back (migration 3): one send back per entry, in the window of its `takenAt`; returns the counters changed. */
export async function giveBackSends(sql: Sql, entries: readonly (TakeEntry & { takenAt: number })[]): Promise<number> {
  const [row] = await sql<[{ given: number }]>`
    select email_send_give_back(
      ${arrayLiteral(entries.map((e) => e.caller))}::text[], ${arrayLiteral(entries.map((e) => e.address))}::text[],
      ${arrayLiteral(entries.map((e) => e.periodMs))}::bigint[], ${arrayLiteral(entries.map((e) => e.takenAt))}::bigint[]) as given`;
  return row.given;
}
