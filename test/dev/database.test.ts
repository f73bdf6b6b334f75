// Which database the stack uses, and the throwaway cluster's life: capabilities probed by trying them,
// and nothing left (no server process, no directory) after stop.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chooseDatabase, startDatabase } from "../../dev/database.ts";
import { isRunning } from "../support/process.ts";

describe("the stack's database choice", () => {
  test("DEV_DB wins, then DATABASE_URL, then a cluster when initdb is there, else PGlite", () => {
    expect(chooseDatabase({ DEV_DB: "pglite", DATABASE_URL: "postgres://x/y" }).kind).toBe("pglite");
    expect(chooseDatabase({ DEV_DB: "cluster", DATABASE_URL: "postgres://x/y" }).kind).toBe("cluster");
    expect(chooseDatabase({ DATABASE_URL: "postgres://x/y" })).toEqual({ kind: "url", why: "DATABASE_URL is set" });
    const previous = process.env.PG_BIN;
    try {
      process.env.PG_BIN = "/nonexistent/postgresql/bin";
      expect(chooseDatabase({}).kind).toBe("pglite");
      expect(chooseDatabase({}).why).toContain("no PostgreSQL server binaries in /nonexistent/postgresql/bin");
    } finally {
      if (previous === undefined) delete process.env.PG_BIN;
      else process.env.PG_BIN = previous;
    }
    expect(() => chooseDatabase({ DEV_DB: "sqlite" })).toThrow("DEV_DB must be pglite or cluster (got sqlite)");
  });
});

/** The postmaster serving `port`, and its data directory, read from /proc. */
function postmasterOn(port: number): { pid: number; dataDir: string } | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile
    }
    if (!argv[0]?.endsWith("/postgres")) continue;
    const p = argv.indexOf("-p");
    const d = argv.indexOf("-D");
    if (p > 0 && argv[p + 1] === String(port) && d > 0) return { pid: Number(entry), dataDir: argv[d + 1]! };
  }
  return null;
}

describe.skipIf(!existsSync(`${process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin"}/initdb`))("the throwaway cluster", () => {
  test("answers with every capability, and leaves no process or directory after stop", async () => {
    const lines: string[] = [];
    const db = await startDatabase({ kind: "cluster", why: "test" }, { out: (l) => lines.push(l), bun: process.execPath, env: {} });
    const server = postmasterOn(Number(new URL(db.url).port));
    expect(server).not.toBeNull();
    expect(existsSync(server!.dataDir)).toBe(true);
    expect(db.description).toStartWith("PostgreSQL 15");
    expect(db.capabilities.has.sort()).toEqual(["exclusive-advisory-locks", "listen-notify"]);
    expect(db.limits).toEqual([]);
    await db.stop();
    expect(isRunning(server!.pid)).toBe(false);
    expect(existsSync(server!.dataDir.replace(/\/data$/, ""))).toBe(false);
  });
});
