// `email-send callers ...` through the runtime (runTool with the real tool declaration) against real
// PostgreSQL: each action's output and exit code, and hostile words → usage errors (exit 2), nothing written.
import { beforeEach, describe, expect, test } from "bun:test";
import { tool } from "../../cmd/email-send.ts";
import { runTool } from "../../src/runtime/tool.ts";
import type { ToolIO } from "../../src/runtime/tool-spec.ts";
import { createEmailTestDb } from "../support/email.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());

function io(env: Record<string, string | undefined> = { DATABASE_URL: db.url }) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const value: ToolIO = {
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    env,
    isTerminal: false,
    onSignal: () => () => {},
    exit: () => {},
  };
  return { io: value, stdout: () => stdout.join(""), stderr: () => stderr.join("") };
}

async function run(...args: string[]) {
  const captured = io();
  const code = await runTool(tool, ["callers", ...args], captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

const snapshot = async () => ({
  callers: await db.sql`select name, token_hash, previous_hash, rate_limit, rate_period_ms, recipient_limit, recipient_period_ms from email_callers order by name`,
  counters: await db.sql`select * from email_send_counters order by key`,
});

describe("email-send callers", () => {
  test("add prints the token once, list shows limits and never tokens, rotate prints a new one, remove", async () => {
    const added = await run("add", "web", "--rate", "10/minute", "--recipient-rate=5/hour");
    expect(added.code).toBe(0);
    const token = added.stdout.trim();
    expect(token).toMatch(/^web\.[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).not.toContain(token.slice(4));
    expect(added.stderr).toContain('"msg":"Caller added"');
    expect((await run("add", "api")).code).toBe(0);

    const listed = await run("list");
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +RATE +RECIPIENT-RATE +CREATED +ROTATED +PREVIOUS-TOKEN-UNTIL$/);
    expect(lines[1]).toMatch(/^api +- +- +\d{4}-/);
    expect(lines[2]).toMatch(/^web +10\/minute +5\/hour +\d{4}-/);
    expect(listed.stdout).not.toContain(token.slice(4));

    const rotated = await run("rotate", "web");
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.trim()).toMatch(/^web\.[A-Za-z0-9_-]{43}$/);
    expect(rotated.stdout.trim()).not.toBe(token);
    expect((await run("list")).stdout.split("\n")[2]).toMatch(/ 20\d\d-\S+Z$/); // previous token valid until …

    expect((await run("remove", "web")).code).toBe(0);
    expect((await snapshot()).callers.map((c) => c.name)).toEqual(["api"]);
  });

  test("an existing name, or removing or rotating a missing one: exit 1 with a line saying so", async () => {
    await run("add", "web");
    const again = await run("add", "web");
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toContain("a caller named web exists");
    expect((await run("remove", "ghost")).code).toBe(1);
    const rotated = await run("rotate", "ghost");
    expect([rotated.code, rotated.stdout]).toEqual([1, ""]);
  });

  test("hostile or malformed words are usage errors (exit 2) and write nothing", async () => {
    await run("add", "web", "--rate", "1/second");
    const before = await snapshot();
    const cases: string[][] = [
      [],
      ["drop"],
      ["add"],
      ["add", "web", "extra"],
      ["add", "Web"],
      ["add", "web'; drop table email_callers; --"],
      ["add", "x".repeat(33)],
      ["add", "a".repeat(100_000)],
      ["add", "wéb"],
      ["add", "web\u0000"],
      ["add", "new", "--rate", "0/minute"],
      ["add", "new", "--rate", "10/fortnight"],
      ["add", "new", "--rate", "1000000001/day"],
      ["add", "new", "--rate", "99999999999999999999999/day"],
      ["add", "new", "--rate", "-5/day"],
      ["add", "new", "--rate", "1.5/day"],
      ["add", "new", "--rate", "10/minute;drop"],
      ["add", "new", "--rate"],
      ["add", "new", "--rate", "1/day", "--rate", "2/day"],
      ["add", "new", "--burst", "3"],
      ["list", "web"],
      ["list", "--rate", "1/day"],
      ["remove"],
      ["remove", "web", "api"],
      ["remove", "WEB"],
      ["rotate", "web'--"],
    ];
    for (const args of cases) {
      const result = await run(...args);
      expect({ args: args.map((a) => a.slice(0, 40)), code: result.code }).toEqual({ args: args.map((a) => a.slice(0, 40)), code: 2 });
      expect(result.stdout).toBe("");
      expect(result.stderr.length).toBeLessThan(1000);
    }
    expect(await snapshot()).toEqual(before);
  });

  test("--help needs no database; without DATABASE_URL an action is a usage error", async () => {
    const help = io({});
    expect(await runTool(tool, ["callers", "--help"], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/add +Create a caller; prints its token once[\s\S]*rotate +Print a new token/);
    const addHelp = io({});
    expect(await runTool(tool, ["callers", "add", "--help"], addHelp.io)).toBe(0);
    expect(addHelp.stdout()).toContain("USAGE email-send callers add [OPTIONS] NAME");
    expect(addHelp.stdout()).toContain("--recipient-rate N/PERIOD");
    const top = io({});
    expect(await runTool(tool, ["--help"], top.io)).toBe(0);
    expect(top.stdout()).toMatch(/callers +Manage the callers of \/send/);
    const missing = io({});
    expect(await runTool(tool, ["callers", "list"], missing.io)).toBe(2);
    expect(missing.stderr()).toContain("DATABASE_URL");
  });
});
