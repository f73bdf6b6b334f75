// The service checks the email schema at start instead of migrating it (DESIGN.md §4). A database
// that is not up yet is waited for; one without the tables is a clear, fatal error.
import { backoffDelay, sleep } from "../core/backoff.ts";
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { isTransientDbError } from "../db/errors.ts";

const TABLES = ["email_bounces", "email_message_data"] as const;

export async function missingEmailTables(sql: Sql): Promise<string[]> {
  const [row] = await sql<[{ bounces: string | null; data: string | null }]>`
    select to_regclass('email_bounces')::text as bounces, to_regclass('email_message_data')::text as data`;
  return TABLES.filter((_, i) => (i === 0 ? row.bounces : row.data) === null);
}

export async function waitForEmailSchema(sql: Sql, log: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const missing = await missingEmailTables(sql);
      if (missing.length > 0) {
        throw new Error(`email schema not found: missing table(s) ${missing.join(", ")} (run \`email-send migrate\` against a development database)`);
      }
      return;
    } catch (error) {
      if (!isTransientDbError(error) || signal.aborted) throw error;
      const delay = backoffDelay({ baseMs: 500, capMs: 30_000 }, attempt);
      log.warn("Database not reachable yet; retrying", { delayMs: delay, error: (error as Error).message });
      await sleep(delay, signal);
    }
  }
}
