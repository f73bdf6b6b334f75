// Databases for account-config tests: the schema is migrated once into a template, and each scenario
// gets its own copy (CREATE DATABASE … TEMPLATE, much faster than migrating again). All are dropped
// after the file's tests.
import { afterAll } from "bun:test";
import postgres from "postgres";
import { ACCOUNT_CONFIG_SCHEMA } from "../../src/account-config/migrations/index.ts";
import { createSql, type Sql } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { databaseUrl } from "./postgres.ts";

export interface ScenarioDatabase {
  url: string;
  sql: Sql;
  name: string;
}

const adminUrl = () => process.env.TEST_DATABASE_URL!;

export interface AccountConfigDatabases {
  /** A fresh, migrated database. */
  create(options?: { max?: number }): Promise<ScenarioDatabase>;
}

export async function accountConfigDatabases(): Promise<AccountConfigDatabases> {
  const stem = `t_ac_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const template = `${stem}_tpl`;
  const created: string[] = [template];
  const clients: Sql[] = [];
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${template}`);
  const templateSql = createSql(databaseUrl(template), { max: 1 });
  await migrate(templateSql, ACCOUNT_CONFIG_SCHEMA.domain, ACCOUNT_CONFIG_SCHEMA.migrations);
  await templateSql.end({ timeout: 1 });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    for (const name of created) await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  let n = 0;
  return {
    async create(options = {}) {
      const name = `${stem}_${(n += 1)}`;
      await admin.unsafe(`create database ${name} template ${template}`);
      created.push(name);
      const url = databaseUrl(name);
      const sql = createSql(url, { max: options.max ?? 4 });
      clients.push(sql);
      return { url, sql, name };
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse("2026-01-01T00:00:00Z")) {
  let now = start;
  return { now: () => now, set: (t: number) => void (now = t), advance: (ms: number) => void (now += ms) };
}
