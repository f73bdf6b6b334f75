// The stack's PostgreSQL: DATABASE_URL when set; else a throwaway cluster from the system's initdb (as
// the tests start one); else PGlite served over the wire protocol. DEV_DB=pglite (or DEV_DB=cluster)
// forces a choice. Whatever it is, its capabilities are probed at start and every limit is stated.
import { existsSync } from "node:fs";
import postgres from "postgres";
import { startCluster } from "../test/support/pg-cluster.ts";
import { startChild, type Child } from "./child.ts";
import { CAPABILITY_USES, probeCapabilities, type CapabilityReport } from "./db-capabilities.ts";

export type DatabaseKind = "url" | "cluster" | "pglite";

export interface StackDatabase {
  kind: DatabaseKind;
  url: string;
  /** e.g. "PostgreSQL 15.14, throwaway cluster (fsync off)". */
  description: string;
  /** Plain sentences, printed at start: what this database cannot do that a tool or the demo may need. */
  limits: string[];
  capabilities: CapabilityReport;
  stop(): Promise<void>;
  kill(): void;
}

export interface DatabaseChoice {
  kind: DatabaseKind;
  why: string;
}

const stringEnv = () => Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
const PG_BIN = () => process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export function chooseDatabase(env: Record<string, string | undefined>): DatabaseChoice {
  switch (env.DEV_DB) {
    case "pglite":
      return { kind: "pglite", why: "DEV_DB=pglite" };
    case "cluster":
      return { kind: "cluster", why: "DEV_DB=cluster" };
    case undefined:
    case "":
      break;
    default:
      throw new Error(`DEV_DB must be pglite or cluster (got ${env.DEV_DB})`);
  }
  if (env.DATABASE_URL) return { kind: "url", why: "DATABASE_URL is set" };
  if (existsSync(`${PG_BIN()}/initdb`)) return { kind: "cluster", why: `PostgreSQL server binaries found in ${PG_BIN()}` };
  return { kind: "pglite", why: `no DATABASE_URL and no PostgreSQL server binaries in ${PG_BIN()}` };
}

async function serverVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<[{ version: string }]>`select version()`;
    return row.version.split(" ").slice(0, 2).join(" ");
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const PGLITE_BOOT_MS = 120_000; // 3 s on a quiet machine; far longer while the cores are busy

async function startPglite(out: (line: string) => void, bun: string): Promise<{ url: string; version: string; child: Child }> {
  const child = startChild("pglite", [bun, `${import.meta.dir}/pglite-server.ts`], { env: { ...stringEnv(), NO_COLOR: "1" }, out });
  try {
    const [, port, version] = await child.waitForLine(/^ready (\d+) (.*)$/, PGLITE_BOOT_MS);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, version: version!, child };
  } catch (error) {
    child.kill();
    throw error;
  }
}

function statedLimits(kind: DatabaseKind, capabilities: CapabilityReport): string[] {
  const limits: string[] = [];
  if (kind === "pglite") {
    limits.push(
      "PGlite is PostgreSQL 18 compiled to WebAssembly (the tools target PostgreSQL 15), in memory: its data is gone when the stack stops",
      "every connection shares PGlite's one backend, so statements and transactions run one at a time",
    );
  }
  for (const [capability, problem] of Object.entries(capabilities.missing)) {
    limits.push(`${capability}: ${problem}; ${CAPABILITY_USES[capability as keyof typeof CAPABILITY_USES]}`);
  }
  return limits;
}

export async function startDatabase(choice: DatabaseChoice, options: { out: (line: string) => void; bun: string; env: Record<string, string | undefined> }): Promise<StackDatabase> {
  let url: string;
  let description: string;
  let stop: () => Promise<void>;
  let kill: () => void;
  if (choice.kind === "url") {
    url = options.env.DATABASE_URL!;
    description = `${await serverVersion(url)} at DATABASE_URL (used as it is; its data stays)`;
    stop = async () => {};
    kill = () => {};
  } else if (choice.kind === "cluster") {
    const cluster = await startCluster();
    // Also when the stack dies of an uncaught error: pg_ctl runs synchronously, so it works at exit.
    const stopOnce = () => {
      process.off("exit", stopOnce);
      cluster.stop();
    };
    process.on("exit", stopOnce);
    url = cluster.url;
    description = `${await serverVersion(url)}, throwaway cluster (fsync off), removed at stop`;
    stop = async () => stopOnce();
    kill = stopOnce;
  } else {
    const pglite = await startPglite(options.out, options.bun);
    url = pglite.url;
    description = `${pglite.version}, WebAssembly, in memory`;
    stop = async () => void (await pglite.child.stop(5_000));
    kill = () => pglite.child.kill();
  }
  try {
    const capabilities = await probeCapabilities(url);
    return { kind: choice.kind, url, description, limits: statedLimits(choice.kind, capabilities), capabilities, stop, kill };
  } catch (error) {
    await stop();
    throw error;
  }
}
