import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { loggingArgs, runTool, takeVerbosity, type RunData } from "../../src/core/cli.ts";
import { UsageError } from "../../src/core/errors.ts";
import { VERSION } from "../../src/core/version.ts";

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) } };
}

const seen: { args?: Record<string, unknown>; verbosity?: number } = {};
const tool = defineCommand({
  meta: { name: "demo", version: VERSION, description: "demo tool" },
  args: {
    name: { type: "positional", required: true },
    "max-per-loop": { type: "string", default: "10" },
    override_node: { type: "string" },
    ...loggingArgs,
  },
  run({ args, data }) {
    seen.args = args;
    seen.verbosity = (data as RunData).verbosity;
    if (args.name === "fail") throw new Error("runtime failure");
    if (args.name === "usage") throw new UsageError("--max-per-loop: invalid integer value: 'abc'");
    return args.name === "three" ? 3 : undefined;
  },
});

describe("runTool", () => {
  test("--help prints usage on stdout and exits 0", async () => {
    const t = io();
    expect(await runTool(tool, ["--help"], { io: t.io })).toBe(0);
    expect(t.out.join("")).toContain("demo tool");
    expect(t.out.join("")).toContain("--max-per-loop");
  });

  test("--version prints the version", async () => {
    const t = io();
    expect(await runTool(tool, ["--version"], { io: t.io })).toBe(0);
    expect(t.out.join("")).toBe(`${VERSION}\n`);
  });

  test("counts repeated -v and accepts underscored and dashed spellings", async () => {
    const t = io();
    expect(await runTool(tool, ["-v", "-vv", "--override-node", "http://n", "--human_logs", "x"], { io: t.io })).toBe(0);
    expect(seen.verbosity).toBe(3);
    expect(seen.args?.override_node).toBe("http://n");
    expect(seen.args?.human_logs).toBe(true);
  });

  test("exit codes: run's number, 1 on failure, 2 on usage errors", async () => {
    expect(await runTool(tool, ["three"], { io: io().io })).toBe(3);
    const failing = io();
    expect(await runTool(tool, ["fail"], { io: failing.io })).toBe(1);
    expect(failing.err.join("")).toContain("runtime failure");
    const usage = io();
    expect(await runTool(tool, ["usage"], { io: usage.io })).toBe(2);
    expect(usage.err.join("")).toContain("invalid integer value: 'abc'");
  });

  test("a missing positional or an unknown option is a usage error", async () => {
    const missing = io();
    expect(await runTool(tool, [], { io: missing.io })).toBe(2);
    const unknown = io();
    expect(await runTool(tool, ["--bogus", "x"], { io: unknown.io })).toBe(2);
    expect(unknown.err.join("")).toContain("no such option: --bogus");
  });

  test("runs a subcommand by name", async () => {
    let ran = false;
    const sub = defineCommand({ meta: { name: "migrate" }, run: () => void (ran = true) });
    expect(await runTool(tool, ["migrate"], { io: io().io, subCommands: { migrate: sub } })).toBe(0);
    expect(ran).toBe(true);
  });

  test("takeVerbosity leaves other flags alone", () => {
    expect(takeVerbosity(["-v", "--verbose", "-x", "q"])).toEqual({ verbosity: 2, rest: ["-x", "q"] });
  });
});
