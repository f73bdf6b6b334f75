// What handling a notification needs from the database, for many notifications at once (see
// src/core/concurrency.ts coalesceCalls): one statement writes all their problem rows and reads all their message data.
// Recording stays all-or-nothing per notification (all its rows are in that one statement).
import type { Sql } from "../../db/client.ts";
import { messageDataKey } from "../message-data.ts";
import { coalesceCalls } from "../../core/concurrency.ts";
import { arrayLiteral } from "../../db/array-literal.ts";
import { rowIdentity, type ProblemRow } from "./problem-records.ts";

export interface StoreResult {
  /** Rows written now (the rest were recorded before). */
  recorded: number;
  /** The metadata /send stored for the provider's message id, if any and not expired. */
  metadata?: string;
}

export interface NotificationStore {
  recordAndRead(rows: readonly ProblemRow[], mailMessageId: string, now: number): Promise<StoreResult>;
}

export interface StoreOptions {
  /** Statements running at once (default 1: everything arriving meanwhile shares the next one). */
  maxInFlight?: number;
  /** Notifications per statement (default 200). */
  maxBatch?: number;
}

interface Lookup {
  rows: readonly ProblemRow[];
  key: string;
  now: number;
}

/**
 * Inserts the rows (skipping those already recorded, also when repeated in the batch) and reads the
 * unexpired message data of the keys, in one round trip. Arrays rather than a VALUES list keep the
 * statement's text the same whatever the batch size, so it is prepared once; they are sent as literals
 * (src/db/array-literal.ts), which also work as a fresh pool's first statement.
 * Returns the identities (rowIdentity) of the rows written now, and the metadata found by key.
 */
export async function recordProblemsAndReadMessageData(sql: Sql, rows: readonly ProblemRow[], keys: readonly string[], now: number): Promise<{ written: Set<string>; metadata: Map<string, string> }> {
  const result = await sql<{ kind: "w" | "m"; id: string; data: string | null }[]>`
    with written as (
      insert into email_bounces (email, bounce_type, bounce_sub_type, created_at, feedback_key)
      select * from unnest(
        ${arrayLiteral(rows.map((r) => r.email))}::varchar[], ${arrayLiteral(rows.map((r) => r.bounce_type))}::int2[],
        ${arrayLiteral(rows.map((r) => r.bounce_sub_type))}::int2[], ${arrayLiteral(rows.map((r) => r.created_at))}::int8[],
        ${arrayLiteral(rows.map((r) => r.feedback_key))}::char(64)[])
      on conflict (feedback_key, email, bounce_type) where feedback_key is not null do nothing
      returning feedback_key, bounce_type, email
    )
    select 'w' as kind, feedback_key || ' ' || bounce_type || ' ' || email as id, null as data from written
    union all
    select 'm', key, data from email_message_data where key = any(${arrayLiteral(keys)}::char(64)[]) and expires_at > ${now}`;
  const written = new Set<string>();
  const metadata = new Map<string, string>();
  for (const r of result) {
    if (r.kind === "w") written.add(r.id);
    else metadata.set(r.id, JSON.parse(r.data!) as string);
  }
  return { written, metadata };
}

export function coalescedNotificationStore(sql: Sql, hmacKey: string, options: StoreOptions = {}): NotificationStore {
  const run = coalesceCalls<Lookup, StoreResult>(
    async (lookups) => {
      // The oldest clock of the batch: nothing found has expired for any of them.
      const now = Math.min(...lookups.map((l) => l.now));
      const { written, metadata } = await recordProblemsAndReadMessageData(sql, lookups.flatMap((l) => l.rows), [...new Set(lookups.map((l) => l.key))], now);
      // A row repeated within the batch is credited to the first notification that carried it.
      return lookups.map((l) => {
        let recorded = 0;
        for (const row of l.rows) if (written.delete(rowIdentity(row))) recorded += 1;
        const data = metadata.get(l.key);
        return data === undefined ? { recorded } : { recorded, metadata: data };
      });
    },
    { maxInFlight: options.maxInFlight ?? 1, maxBatch: options.maxBatch ?? 200 },
  );
  return { recordAndRead: (rows, mailMessageId, now) => run({ rows, key: messageDataKey(hmacKey, mailMessageId), now }) };
}
