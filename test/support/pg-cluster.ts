// A throwaway PostgreSQL cluster from the system's initdb, tuned for tests (fsync off). Used when no
// server is reachable, and by the benchmarks, which the issues measure on such a cluster.
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import postgres from "postgres";

const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface Cluster {
  url: string;
  stop(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "pgtest-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"]).stdout.toString().trim());
    chownSync(dir, id("-u"), id("-g"));
  }
  const run = (argv: string[]) => {
    const cmd = asRoot ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
    const result = spawnSync(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    if (result.status !== 0) throw new Error(`${argv[0]} failed: ${result.stderr?.toString()}`);
  };
  const port = await freePort();
  run([`${PG_BIN}/initdb`, "-D", `${dir}/data`, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]);
  run([
    `${PG_BIN}/pg_ctl`, "-D", `${dir}/data`, "-l", `${dir}/log`, "-w", "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`,
    "start",
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run([`${PG_BIN}/pg_ctl`, "-D", `${dir}/data`, "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Whether a PostgreSQL server answers at `url` within two seconds. */
export async function isReachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false; // not reachable: callers fall back to a throwaway cluster
  } finally {
    await sql.end({ timeout: 1 });
  }
}
