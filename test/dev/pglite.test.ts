// DEV_DB=pglite: the stack runs every tool on PGlite served over the wire protocol, states its limits
// (found by trying), the demo's story holds except the step PGlite cannot support, which is skipped
// saying why, and stopping leaves no PGlite process behind.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { createDemoContext } from "../../dev/demo/context.ts";
import { runSteps } from "../../dev/demo/run.ts";
import { demoSteps } from "../../dev/demo/steps.ts";
import { startStack } from "../../dev/stack.ts";
import { createSql } from "../../src/db/client.ts";
import { isRunning } from "../support/process.ts";

/** Our children whose command line mentions `needle`. */
function childrenRunning(needle: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1]);
        return ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const out: string[] = [];
const stack = await startStack({ env: { PATH: process.env.PATH, HOME: process.env.HOME, DEV_DB: "pglite" }, out: (line) => out.push(line) });
const pglite = childrenRunning("dev/pglite-server.ts");
afterAll(() => stack.stop());

describe("the dev stack on PGlite", () => {
  test("states PGlite's limits at start, as found by trying them", () => {
    expect(stack.state.database.kind).toBe("pglite");
    expect(stack.state.database.description).toContain("PGlite");
    expect(Object.keys(stack.state.database.capabilities.missing).sort()).toEqual(["exclusive-advisory-locks", "listen-notify"]);
    const stated = out.filter((line) => line.startsWith("[stack] database limit: "));
    expect(stated.some((line) => line.includes("exclusive-advisory-locks: a second session took an advisory lock the first one held"))).toBe(true);
    expect(stated.some((line) => line.includes("listen-notify: a NOTIFY did not reach a listening session"))).toBe(true);
    expect(stated.some((line) => line.includes("in memory"))).toBe(true);
    expect(pglite.length).toBe(1);
  });

  test("connections querying at once each get their own answers (an open pipeline keeps the backend)", async () => {
    // Parameterised queries are Parse/Bind/Execute/Sync: before, another connection's Bind could land
    // between a Bind and its Execute ("portal "" does not exist").
    const clients = [0, 1, 2].map(() => createSql(stack.state.database.url, { max: 1 }));
    try {
      const answers = await Promise.all(
        clients.map(async (sql, c) => {
          const got: number[] = [];
          for (let i = 0; i < 150; i++) got.push((await sql<[{ n: number }]>`select ${c * 1000 + i}::int as n`)[0].n);
          return got;
        }),
      );
      for (const [c, got] of answers.entries()) expect(got).toEqual(Array.from({ length: 150 }, (_, i) => c * 1000 + i));
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  });

  test("the demo's story holds; only the two-instance purge is skipped, saying why", async () => {
    const ctx = createDemoContext(stack.state, () => {});
    try {
      const report: string[] = [];
      const results = await runSteps(ctx, demoSteps(), { capabilities: stack.state.database.capabilities, report: (l) => report.push(l) });
      const notPassed = report.filter((line) => !line.startsWith("PASS"));
      expect(notPassed.length).toBe(1);
      expect(notPassed[0]).toMatch(/^SKIP .*two purge-old-records at once.*needs exclusive-advisory-locks, which this database lacks/);
      expect(results.length).toBe(15);
      // Without NOTIFY, account-config's change is seen through the stack's fallback poll, and the step says so.
      expect(report.find((line) => line.includes("visible through the API within a second"))).toContain("through the fallback poll every 250 ms");
    } finally {
      await ctx.close();
    }
  });

  test("stops in order and leaves no PGlite process", async () => {
    await stack.stop();
    expect(out.indexOf("[stack] stopped database")).toBeGreaterThan(out.indexOf("[stack] stopped sqs"));
    expect(out.indexOf("[stack] stopped sqs")).toBeGreaterThan(out.indexOf("[stack] stopped tools"));
    for (const pid of pglite) expect(isRunning(pid)).toBe(false);
  });
});
