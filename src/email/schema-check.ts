// The service checks the email schema at start instead of migrating it (DESIGN.md §4; the waiting for
// a database that is not up yet is src/db/wait-ready.ts).
import { SetupError } from "../core/errors.ts";
import type { Sql } from "../db/client.ts";
import { missingTables } from "../db/missing-tables.ts";

/** What every email tool reads and writes: bounce records and /send's message data. */
export const EMAIL_TABLES = ["email_bounces", "email_message_data"] as const;
/** What email-send needs besides: its callers and their send counters. */
export const SEND_TABLES = [...EMAIL_TABLES, "email_callers", "email_send_counters"] as const;

/** Throws a clear, fatal error when tables of the email schema are missing. */
export async function checkEmailSchema(sql: Sql, tables: readonly string[] = SEND_TABLES): Promise<void> {
  const missing = await missingTables(sql, tables);
  if (missing.length > 0) {
    throw new SetupError(`email schema not found: missing table(s) ${missing.join(", ")} (run \`email-send migrate\` against a development database)`);
  }
}
