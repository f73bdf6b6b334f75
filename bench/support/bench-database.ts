// Where a benchmark's data lives: a throwaway PostgreSQL 15 cluster tuned for tests (fsync off), or,
// with BENCH_DATABASE_URL, a new database on that (durable) server, dropped at the end.
import postgres from "postgres";
import { startCluster } from "../../test/support/pg-cluster.ts";

export interface BenchDatabase {
  url: string;
  /** For the report: which kind of server the figures come from (no password). */
  description: string;
  stop(): Promise<void>;
}

async function onAdmin(admin: string, statement: string): Promise<void> {
  const a = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await a.unsafe(statement);
  } finally {
    await a.end();
  }
}

export async function benchDatabase(prefix: string): Promise<BenchDatabase> {
  const admin = process.env.BENCH_DATABASE_URL;
  if (!admin) {
    const cluster = await startCluster();
    return { url: cluster.url, description: "throwaway PostgreSQL 15 cluster (fsync=off, synchronous_commit=off)", stop: async () => cluster.stop() };
  }
  const name = `${prefix}_${process.pid}`;
  await onAdmin(admin, `create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    description: `the machine's PostgreSQL (durable: ${admin.replace(/:[^:@/]*@/, ":***@")})`,
    stop: () => onAdmin(admin, `drop database if exists ${name} with (force)`),
  };
}
