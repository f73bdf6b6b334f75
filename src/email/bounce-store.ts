// SQL for email_bounces: one function per statement, `sql` passed in.
import { arrayLiteral } from "../db/array-literal.ts";
import type { Sql } from "../db/client.ts";
import type { BounceRecord } from "./delivery-problems.ts";

/** The original read at most this many records per address (newest first). */
export const BOUNCE_HISTORY_LIMIT = 20;

interface BounceRow {
  email: string;
  bounce_type: number;
  bounce_sub_type: number;
  created_at: bigint;
}

const toRecord = (row: BounceRow): BounceRecord => ({
  email: row.email,
  bounceType: row.bounce_type,
  bounceSubType: row.bounce_sub_type,
  createdAt: Number(row.created_at),
});

/** The newest records of one address, newest first (optionally only those created at `since` or later). */
export async function fetchBounces(sql: Sql, email: string, options: { since?: number; limit?: number } = {}): Promise<BounceRecord[]> {
  const { since = 0, limit = BOUNCE_HISTORY_LIMIT } = options;
  const rows = await sql<BounceRow[]>`
    select email, bounce_type, bounce_sub_type, created_at from email_bounces
    where email = ${email} and created_at >= ${since} order by created_at desc, id desc limit ${limit}`;
  return rows.map(toRecord);
}

/** The newest records of several addresses in one round trip (a lateral join per address). */
export async function fetchBouncesFor(sql: Sql, emails: readonly string[], options: { since?: number; limit?: number } = {}): Promise<Map<string, BounceRecord[]>> {
  const { since = 0, limit = BOUNCE_HISTORY_LIMIT } = options;
  const byEmail = new Map<string, BounceRecord[]>(emails.map((e) => [e, []]));
  if (emails.length === 0) return byEmail;
  const rows =
    emails.length === 1
      ? await fetchBounces(sql, emails[0]!, { since, limit })
      : (
          await sql<BounceRow[]>`
            select b.email, b.bounce_type, b.bounce_sub_type, b.created_at
            from unnest(${arrayLiteral(emails)}::text[]) as a(email)
            cross join lateral (
              select email, bounce_type, bounce_sub_type, created_at, id from email_bounces e
              where e.email = a.email and e.created_at >= ${since} order by created_at desc, id desc limit ${limit}
            ) b
            order by b.email, b.created_at desc, b.id desc`
        ).map(toRecord);
  for (const record of rows) byEmail.get(record.email)?.push(record);
  return byEmail;
}

export interface NewBounce {
  email: string;
  bounceType: number;
  bounceSubType: number;
  /** ms since the epoch */
  createdAt: number;
}

export async function insertBounce(sql: Sql, bounce: NewBounce): Promise<bigint> {
  const [row] = await sql<[{ id: bigint }]>`
    insert into email_bounces (email, bounce_type, bounce_sub_type, created_at)
    values (${bounce.email}, ${bounce.bounceType}, ${bounce.bounceSubType}, ${bounce.createdAt})
    returning id`;
  return row.id;
}

/** Deletes every record of an address; returns how many there were. */
export async function deleteBounces(sql: Sql, email: string): Promise<number> {
  const result = await sql`delete from email_bounces where email = ${email}`;
  return result.count;
}

/** A stored record with its row id, for paging through more than the check reads. */
export interface StoredBounce extends BounceRecord {
  id: bigint;
}

/** Where a page of one address's records ends: the last row's (created_at, id). */
export interface AddressCursor {
  createdAt: number;
  id: bigint;
}

/**
 * One address's records newest first, after `after` (keyset over email_bounces_email_created_at_idx,
 * so any page costs one index range scan however many records the address has).
 */
export async function fetchBouncePage(sql: Sql, email: string, options: { after?: AddressCursor; limit: number }): Promise<StoredBounce[]> {
  const { after, limit } = options;
  const rows = after
    ? await sql<(BounceRow & { id: bigint })[]>`
        select id, email, bounce_type, bounce_sub_type, created_at from email_bounces
        where email = ${email} and (created_at, id) < (${after.createdAt}, ${after.id})
        order by created_at desc, id desc limit ${limit}`
    : await sql<(BounceRow & { id: bigint })[]>`
        select id, email, bounce_type, bounce_sub_type, created_at from email_bounces
        where email = ${email} order by created_at desc, id desc limit ${limit}`;
  return rows.map((row) => ({ ...toRecord(row), id: row.id }));
}

/** The newest records of every address by row id (the primary key), before `beforeId`. */
export async function fetchRecentBounces(sql: Sql, options: { beforeId?: bigint; limit: number }): Promise<StoredBounce[]> {
  const { beforeId, limit } = options;
  const rows =
    beforeId === undefined
      ? await sql<(BounceRow & { id: bigint })[]>`
          select id, email, bounce_type, bounce_sub_type, created_at from email_bounces order by id desc limit ${limit}`
      : await sql<(BounceRow & { id: bigint })[]>`
          select id, email, bounce_type, bounce_sub_type, created_at from email_bounces where id < ${beforeId} order by id desc limit ${limit}`;
  return rows.map((row) => ({ ...toRecord(row), id: row.id }));
}
