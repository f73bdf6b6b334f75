// Runs before every test file: finds a PostgreSQL server for the suite. TEST_DATABASE_URL (or
// DATABASE_URL) wins; else the local server on 127.0.0.1:5432; else a throwaway cluster.
import { afterAll } from "bun:test";
import postgres from "postgres";
import { startCluster } from "./pg-cluster.ts";

async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false; // not reachable: the caller falls back to a throwaway cluster
  } finally {
    await sql.end({ timeout: 1 });
  }
}

if (!process.env.TEST_DATABASE_URL) {
  const candidate = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  if (await reachable(candidate)) {
    process.env.TEST_DATABASE_URL = candidate;
  } else {
    const cluster = await startCluster();
    process.env.TEST_DATABASE_URL = cluster.url;
    afterAll(() => cluster.stop());
  }
}
