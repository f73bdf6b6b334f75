// A fresh database per test file on the suite's server, dropped afterwards.
import { afterAll } from "bun:test";
import postgres from "postgres";
import { createSql, type Sql } from "../../src/db/client.ts";

export interface TestDatabase {
  url: string;
  sql: Sql;
  name: string;
}

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set: is test/support/preload.ts preloaded?");
  return url;
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates `t_<random>`, registers its removal after the file's tests, and returns a client. */
export async function createTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = databaseUrl(name);
  const sql = createSql(url, { max: options.max ?? 10 });
  afterAll(async () => {
    await sql.end({ timeout: 1 });
    const cleanup = postgres(adminUrl(), { max: 1, onnotice: () => {} });
    await cleanup.unsafe(`drop database if exists ${name} with (force)`);
    await cleanup.end();
  });
  return { url, sql, name };
}
