// For shell scripts (.ci/run's Deno smoke test): prints the URL of a fresh, empty database on the
// machine's PostgreSQL, or on a throwaway cluster when none is reachable. `--drop URL` removes it again.
import postgres from "postgres";
import { isReachable, startCluster } from "./pg-cluster.ts";

if (process.argv[2] === "--drop") {
  // Removes a database this script made earlier (a URL it printed).
  const target = new URL(process.argv[3]!);
  const name = target.pathname.slice(1);
  if (!/^smoke_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}`);
  target.pathname = "/postgres";
  const admin = postgres(target.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
  process.exit(0);
}

let server = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
if (!(await isReachable(server))) server = (await startCluster()).url;
const name = `smoke_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
const admin = postgres(server, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
await admin.end();
const url = new URL(server);
url.pathname = `/${name}`;
console.log(url.toString());
