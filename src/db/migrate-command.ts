// `<tool> migrate`: applies the tool's schemas. For development and tests, and for tables that are the
// tool's own (such as purge_ledger); production schemas owned by other services are only checked.
import { defineCommand } from "citty";
import { createSql } from "./client.ts";
import { migrate, type Migration } from "./migrate.ts";

export interface Schema {
  domain: string;
  migrations: readonly Migration[];
}

export function createMigrateCommand(options: {
  schemas: readonly Schema[];
  /** Reads the database URL from the environment (throws a UsageError when missing). */
  databaseUrl: () => string;
  out?: (line: string) => void;
}) {
  const out = options.out ?? ((line: string) => process.stdout.write(line + "\n"));
  const names = options.schemas.map((s) => s.domain).join(" and ");
  return defineCommand({
    meta: { name: "migrate", description: `Apply the ${names} schema to the database` },
    args: {},
    async run() {
      const sql = createSql(options.databaseUrl(), { max: 1 });
      try {
        for (const schema of options.schemas) {
          const applied = await migrate(sql, schema.domain, schema.migrations);
          out(applied.length ? `${schema.domain} applied: ${applied.join(", ")}` : `${schema.domain} schema is up to date`);
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  });
}
