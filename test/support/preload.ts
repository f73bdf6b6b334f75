// Runs before every test file: finds a PostgreSQL server for the suite. TEST_DATABASE_URL (or
// DATABASE_URL) wins; else the local server on 127.0.0.1:5432; else a throwaway cluster.
import { afterAll } from "bun:test";
import { isReachable, startCluster } from "./pg-cluster.ts";

if (!process.env.TEST_DATABASE_URL) {
  const candidate = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  if (await isReachable(candidate)) {
    process.env.TEST_DATABASE_URL = candidate;
  } else {
    const cluster = await startCluster();
    process.env.TEST_DATABASE_URL = cluster.url;
    afterAll(() => cluster.stop());
  }
}
