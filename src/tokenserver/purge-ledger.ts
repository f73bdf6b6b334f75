// --ledger: one row per purged or failed user record in purge_ledger (evidence of erasure).
import type { Sql } from "../db/client.ts";
import { missingTables } from "../db/missing-tables.ts";

export interface LedgerEntry {
  uid: bigint;
  node: string | null;
  /** purge | nodeless | force | override */
  action: string;
  /** purged | failed */
  outcome: "purged" | "failed";
  httpStatus?: number;
  reason?: string;
}

export async function appendLedgerEntry(sql: Sql, entry: LedgerEntry): Promise<void> {
  await sql`
    insert into purge_ledger (uid, node, action, outcome, http_status, reason)
    values (${entry.uid}, ${entry.node}, ${entry.action}, ${entry.outcome}, ${entry.httpStatus ?? null}, ${entry.reason ?? null})`;
}

export async function ledgerExists(sql: Sql): Promise<boolean> {
  return (await missingTables(sql, ["purge_ledger"])).length === 0;
}
