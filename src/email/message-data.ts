// The metadata a /send caller attaches to a message (spec/email.md §7), kept in email_message_data
// until the queue processor consumes it with the delivery/bounce notification, or until it expires.
//
// Key: lower-case hex HMAC-SHA256(hmackey, the provider's RAW message id), i.e. without "<provider>:".
// The original keyed it by the prefixed id but looked it up by the raw id that SES notifications
// carry, so it was never found (spec/email.md §14.2); we key by what the notification will carry.
// The address-free HMAC keeps ids out of the table, as the original's Redis keys did.
import { createHmac } from "node:crypto";
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { startSweep } from "../db/sweep.ts";

export function messageDataKey(hmacKey: string, rawMessageId: string): string {
  return createHmac("sha256", hmacKey).update(rawMessageId).digest("hex");
}

/** Stores `metadata` (JSON-encoded, as the original did) until `now + ttlMs`; a later store for the same id wins. */
export async function storeMessageData(sql: Sql, key: string, metadata: string, now: number, ttlMs: number): Promise<void> {
  await sql`
    insert into email_message_data (key, data, created_at, expires_at)
    values (${key}, ${JSON.stringify(metadata)}, ${now}, ${now + ttlMs})
    on conflict (key) do update set data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at`;
}

/** Takes the metadata out (it is delivered once); undefined when absent or expired. */
export async function consumeMessageData(sql: Sql, key: string, now: number): Promise<string | undefined> {
  const [row] = await sql<[{ data: string; expires_at: bigint }?]>`delete from email_message_data where key = ${key} returning data, expires_at`;
  if (!row || Number(row.expires_at) <= now) return undefined;
  return JSON.parse(row.data) as string;
}

/** Deletes up to `batch` expired rows; returns how many went. */
export async function purgeExpiredMessageData(sql: Sql, now: number, batch = 1000): Promise<number> {
  const result = await sql`
    delete from email_message_data where key in (
      select key from email_message_data where expires_at <= ${now} order by expires_at limit ${batch})`;
  return result.count;
}

/** Deletes expired message data every `intervalMs` (each instance may run it; the deletes do not conflict). */
export function startMessageDataSweep(options: { sql: Sql; log: Logger; intervalMs: number; now?: () => number }): { stop(): void } {
  return startSweep({ ...options, deleteSome: (now) => purgeExpiredMessageData(options.sql, now), deleted: "Expired message data deleted", failed: "Message data sweep failed" });
}
