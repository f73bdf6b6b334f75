// The service checks the email schema at start instead of migrating it (DESIGN.md §4; the waiting for
// a database that is not up yet is src/db/wait-ready.ts).
import { SetupError } from "../core/errors.ts";
import type { Sql } from "../db/client.ts";
import { missingTables } from "../db/missing-tables.ts";

const TABLES = ["email_bounces", "email_message_data", "email_callers", "email_send_counters"] as const;

/** Throws a clear, fatal error when the email tables are missing. */
export async function checkEmailSchema(sql: Sql): Promise<void> {
  const missing = await missingTables(sql, TABLES);
  if (missing.length > 0) {
    throw new SetupError(`email schema not found: missing table(s) ${missing.join(", ")} (run \`email-send migrate\` against a development database)`);
  }
}
