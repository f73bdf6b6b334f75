// The service checks the email schema at start instead of migrating it (DESIGN.md §4; the waiting for
// a database that is not up yet is src/db/wait-ready.ts).
import { SetupError } from "../core/errors.ts";
import type { Sql } from "../db/client.ts";

const TABLES = ["email_bounces", "email_message_data"] as const;

export async function missingEmailTables(sql: Sql): Promise<string[]> {
  const [row] = await sql<[{ bounces: string | null; data: string | null }]>`
    select to_regclass('email_bounces')::text as bounces, to_regclass('email_message_data')::text as data`;
  return TABLES.filter((_, i) => (i === 0 ? row.bounces : row.data) === null);
}

/** Throws a clear, fatal error when the email tables are missing. */
export async function checkEmailSchema(sql: Sql): Promise<void> {
  const missing = await missingEmailTables(sql);
  if (missing.length > 0) {
    throw new SetupError(`email schema not found: missing table(s) ${missing.join(", ")} (run \`email-send migrate\` against a development database)`);
  }
}
