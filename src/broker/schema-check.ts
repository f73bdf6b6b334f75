// The start-up schema check: the broker refuses to run on a database without its tables.
import { SetupError } from "../core/errors.ts";
import type { Sql } from "../db/client.ts";
import { missingTables } from "../db/missing-tables.ts";
import { BROKER_TABLES } from "./migrations/index.ts";

export async function checkBrokerSchema(sql: Sql): Promise<void> {
  const missing = await missingTables(sql, BROKER_TABLES);
  if (missing.length > 0) throw new SetupError(`the database lacks the broker's tables (${missing.join(", ")}); run \`event-broker migrate\` first`);
}
