// `serve` checks the schema instead of migrating it (DESIGN.md §4), and refuses a database whose
// change stamps are ahead of its own transaction counter (a restore from another cluster, §4): such
// rows would be read again by every refresh until `migrate --reset-txids` runs.
import { SetupError } from "../core/errors.ts";
import type { Sql } from "../db/client.ts";
import { missingTables } from "../db/missing-tables.ts";
import { hasFutureTxids } from "./queries.ts";
import { SCHEMA_TABLES } from "./tables.ts";

export async function checkAccountConfigSchema(sql: Sql): Promise<void> {
  const missing = await missingTables(sql, SCHEMA_TABLES);
  if (missing.length > 0) {
    throw new SetupError(`account-config schema not found: missing table(s) ${missing.join(", ")} (run \`account-config migrate\`)`);
  }
  if (await hasFutureTxids(sql)) {
    throw new SetupError("change_txid values are ahead of this cluster's transaction ids (restored from another cluster?): run `account-config migrate --reset-txids`");
  }
}
