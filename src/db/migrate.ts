// The migration runner behind `<tool> migrate`: numbered SQL shipped in the binary, applied in order in
// one transaction under an advisory lock, and recorded in schema_migrations per domain.
import type { Sql } from "./client.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

// Any fixed number works; it only has to be the same for every tool so two migrations never interleave.
const MIGRATION_LOCK = 72_617_001;

async function ensureLedger(sql: Sql): Promise<void> {
  await sql`
    create table if not exists schema_migrations (
      domain text not null,
      version integer not null,
      name text not null,
      applied_at timestamptz not null default now(),
      primary key (domain, version)
    )`;
}

/** Applies what is missing; returns the names applied now (empty when up to date). */
export async function migrate(sql: Sql, domain: string, migrations: readonly Migration[]): Promise<string[]> {
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await ensureLedger(tx as unknown as Sql);
    const done = await tx<{ version: number }[]>`select version from schema_migrations where domain = ${domain}`;
    const have = new Set(done.map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (have.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`insert into schema_migrations (domain, version, name) values (${domain}, ${m.version}, ${m.name})`;
      applied.push(`${m.version}_${m.name}`);
    }
  });
  return applied;
}
