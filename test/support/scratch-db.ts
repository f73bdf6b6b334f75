// For shell scripts (.ci/run's Deno smoke test): prints the URL of a fresh, empty database on the
// machine's PostgreSQL, or on a throwaway cluster when none is reachable (then also its stop command).
import postgres from "postgres";
import { startCluster } from "./pg-cluster.ts";

async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false; // caller falls back to a throwaway cluster
  } finally {
    await sql.end({ timeout: 1 });
  }
}

let server = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
if (!(await reachable(server))) server = (await startCluster()).url;
const name = `smoke_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
const admin = postgres(server, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
await admin.end();
const url = new URL(server);
url.pathname = `/${name}`;
console.log(url.toString());
