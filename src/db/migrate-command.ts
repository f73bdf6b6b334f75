// `<tool> migrate`: applies the tool's schema. For development and tests; production schemas are owned
// by their services, and tools only check them at start.
import { defineCommand } from "citty";
import { createSql } from "./client.ts";
import { migrate, type Migration } from "./migrate.ts";

export function createMigrateCommand(options: {
  domain: string;
  migrations: readonly Migration[];
  /** Reads the database URL from the environment (throws a UsageError when missing). */
  databaseUrl: () => string;
  out?: (line: string) => void;
}) {
  const out = options.out ?? ((line: string) => process.stdout.write(line + "\n"));
  return defineCommand({
    meta: { name: "migrate", description: `Apply the ${options.domain} schema to the database (development and tests)` },
    args: {},
    async run() {
      const sql = createSql(options.databaseUrl(), { max: 1 });
      try {
        const applied = await migrate(sql, options.domain, options.migrations);
        out(applied.length ? `applied: ${applied.join(", ")}` : `${options.domain} schema is up to date`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  });
}
