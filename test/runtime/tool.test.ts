// The tool runtime: command line, settings, phases and their failure lines, exit codes, and the bounded
// two-stage stop. Signals and the process exit are injected; the database phases use a real PostgreSQL.
import { describe, expect, test } from "bun:test";
import type { ArgsDef } from "citty";
import { SetupError, UsageError } from "../../src/core/errors.ts";
import { takeVerbosity } from "../../src/runtime/flags.ts";
import { runTool } from "../../src/runtime/tool.ts";
import { commonArgs, databaseArgs, defineTool, type BaseSettings, type Resources, type SettingsInput, type ToolIO, type ToolSpec } from "../../src/runtime/tool-spec.ts";
import { commonSettings, databaseSettings } from "../../src/runtime/tool-settings.ts";
import { VERSION } from "../../src/core/version.ts";
import type { Sql } from "../../src/db/client.ts";
import { createTestDatabase } from "../support/postgres.ts";

interface FakeIO extends ToolIO {
  stdout: string[];
  stderr: string[];
  exits: number[];
  /** Resolves with the first code passed to exit(). */
  exited: Promise<number>;
  send(signal: "SIGTERM" | "SIGINT"): void;
  lines(): { Type: string; Severity: number; Fields: { msg: string } & Record<string, unknown> }[];
}

function fakeIO(env: Record<string, string | undefined> = {}, isTerminal = false): FakeIO {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exits: number[] = [];
  const handlers = new Set<(s: "SIGTERM" | "SIGINT") => void>();
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  return {
    stdout, stderr, exits, exited, env, isTerminal,
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    exit(code) {
      exits.push(code);
      resolveExit(code);
    },
    send: (signal) => handlers.forEach((h) => h(signal)),
    lines: () => stderr.join("").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)),
  };
}

const demoArgs = {
  name: { type: "positional", required: true, description: "what to do" },
  "max-per-loop": { type: "string", default: "10", valueHint: "N", description: "rows per batch" },
  override_node: { type: "string", description: "a node" },
  ...databaseArgs,
  ...commonArgs,
} as const satisfies ArgsDef;

type DemoSettings = BaseSettings & { name: string; maxPerLoop: string; overrideNode: string | undefined; verbosity: number };

function demoSettings(input: SettingsInput<typeof demoArgs>): DemoSettings {
  const { flags, env } = input;
  if (flags.maxPerLoop === "abc") throw new UsageError(`${input.label("maxPerLoop")}: invalid integer value: 'abc'`);
  return {
    name: flags.name,
    maxPerLoop: flags.maxPerLoop,
    overrideNode: flags.overrideNode,
    verbosity: input.verbosity,
    ...commonSettings(input, "demo"),
    ...(env.DEMO_DATABASE_URL ? { database: databaseSettings(input, { url: env.DEMO_DATABASE_URL, poolSize: 2 }) } : {}),
  };
}

function demoTool<R extends Resources = Resources>(overrides: Partial<ToolSpec<typeof demoArgs, DemoSettings, R>> = {}) {
  return defineTool<typeof demoArgs, DemoSettings, R>({
    meta: { name: "demo", description: "demo tool" },
    args: demoArgs,
    settings: demoSettings,
    run: async () => {},
    stopTimeoutMs: 300,
    inFlight: "the demo work",
    ...overrides,
  });
}

describe("command line", () => {
  test("--help prints the flags as operators type them, with defaults, and exits 0", async () => {
    const io = fakeIO();
    expect(await runTool(demoTool(), ["--help"], io)).toBe(0);
    const text = io.stdout.join("");
    expect(text).toContain("demo tool");
    expect(text).toContain("USAGE demo [OPTIONS] NAME");
    expect(text).toContain("--max-per-loop N");
    expect(text).toContain("(default: 10)");
    expect(text).toContain("-v, --verbose");
  });

  test("--help has colour only on a terminal, and never with NO_COLOR", async () => {
    const piped = fakeIO({}, false);
    await runTool(demoTool(), ["--help"], piped);
    expect(piped.stdout.join("")).not.toContain("\x1b[");
    const noColor = fakeIO({ NO_COLOR: "yes" }, true);
    await runTool(demoTool(), ["--help"], noColor);
    expect(noColor.stdout.join("")).not.toContain("\x1b[");
    const terminal = fakeIO({}, true);
    await runTool(demoTool(), ["--help"], terminal);
    expect(terminal.stdout.join("")).toContain("\x1b[1mUSAGE\x1b[22m");
  });

  test("--version prints the version", async () => {
    const io = fakeIO();
    expect(await runTool(demoTool(), ["--version"], io)).toBe(0);
    expect(io.stdout.join("")).toBe(`${VERSION}\n`);
  });

  test("counts repeated -v and accepts underscored and dashed spellings", async () => {
    let seen: DemoSettings | undefined;
    const tool = demoTool({ run: async (ctx) => void (seen = ctx.settings) });
    expect(await runTool(tool, ["-v", "-vv", "--override-node", "http://n", "--human-logs", "--max_per_loop", "7", "x"], fakeIO())).toBe(0);
    expect(seen).toMatchObject({ verbosity: 3, overrideNode: "http://n", maxPerLoop: "7", name: "x" });
    expect(seen!.logging).toEqual({ level: "debug", format: "pretty" });
  });

  test("a missing positional or an unknown option is a usage error: one log line, exit 2", async () => {
    const missing = fakeIO();
    expect(await runTool(demoTool(), [], missing)).toBe(2);
    expect(missing.lines()[0]!.Fields.msg).toContain("Missing required positional argument: NAME");
    const unknown = fakeIO();
    expect(await runTool(demoTool(), ["--bogus", "x"], unknown)).toBe(2);
    expect(unknown.lines()).toHaveLength(1);
    expect(unknown.lines()[0]!.Fields.msg).toBe("demo: no such option: --bogus (see demo --help)");
  });

  test("takeVerbosity leaves other flags alone", () => {
    expect(takeVerbosity(["-v", "--verbose", "-x", "q"])).toEqual({ verbosity: 2, rest: ["-x", "q"] });
  });
});

describe("phases and exit codes", () => {
  test("run's number is the exit code; nothing returned is 0", async () => {
    expect(await runTool(demoTool({ run: async () => 3 }), ["x"], fakeIO())).toBe(3);
    expect(await runTool(demoTool(), ["x"], fakeIO())).toBe(0);
  });

  test("a bad setting is one line naming the flag, without a stack, exit 2", async () => {
    const io = fakeIO();
    expect(await runTool(demoTool(), ["--max-per-loop", "abc", "x"], io)).toBe(2);
    const [line, ...rest] = io.lines();
    expect(rest).toHaveLength(0);
    expect(line!.Fields.msg).toBe("demo: --max-per-loop: invalid integer value: 'abc' (see demo --help)");
    expect(io.stderr.join("")).not.toContain("    at ");
  });

  test("--human_logs applies to the failure line too", async () => {
    const io = fakeIO();
    expect(await runTool(demoTool(), ["--human_logs", "--max-per-loop", "abc", "x"], io)).toBe(2);
    expect(io.stderr.join("")).toBe("ERROR   : demo: --max-per-loop: invalid integer value: 'abc' (see demo --help)\n");
  });

  test("an unexpected error in run is one JSON line carrying its stack, exit 1", async () => {
    const io = fakeIO();
    expect(await runTool(demoTool({ run: async () => { throw new Error("kaboom"); } }), ["x"], io)).toBe(1);
    const lines = io.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.Fields.msg).toBe("demo failed");
    expect(String(lines[0]!.Fields.error)).toContain("Error: kaboom\n    at ");
  });

  test("a setup failure is one line with the fix and no stack, exit 1", async () => {
    const io = fakeIO();
    const tool = demoTool({ run: async () => { throw new SetupError("--ledger needs the purge_ledger table: run `demo migrate` first"); } });
    expect(await runTool(tool, ["x"], io)).toBe(1);
    expect(io.lines().map((l) => l.Fields.msg)).toEqual(["demo: --ledger needs the purge_ledger table: run `demo migrate` first"]);
    expect(io.stderr.join("")).not.toContain("    at ");
  });

  test("a failure while cleaning up is logged and makes a clean run exit 1", async () => {
    const io = fakeIO();
    const tool = demoTool({ resources: () => ({ close: () => { throw new Error("stuck"); } }) });
    expect(await runTool(tool, ["x"], io)).toBe(1);
    expect(io.lines().map((l) => l.Fields.msg)).toEqual(["Could not close the resources"]);
  });

  test("resources are built before run, handed to it, and closed after it", async () => {
    const events: string[] = [];
    const tool = demoTool<{ name: string; close(): void }>({
      resources: () => (events.push("built"), { name: "smtp", close: () => void events.push("closed") }),
      run: async (ctx) => void events.push(`run with ${ctx.resources.name}`),
    });
    expect(await runTool(tool, ["x"], fakeIO())).toBe(0);
    expect(events).toEqual(["built", "run with smtp", "closed"]);
  });

  test("component loggers tag their lines", async () => {
    const io = fakeIO();
    await runTool(demoTool({ run: async (ctx) => ctx.logger("lanes").warn("full") }), ["x"], io);
    expect(io.lines()[0]).toMatchObject({ Type: "lanes", Fields: { msg: "full" } });
  });
});

describe("commands (ToolSpec.commands)", () => {
  const seen: { args: readonly string[]; hasSql: boolean; one?: number }[] = [];
  const tool = demoTool({
    commands: {
      greet: {
        description: "say hello",
        usage: ["demo greet NAME", "", "NAME: who"],
        async run(ctx) {
          seen.push({ args: ctx.args, hasSql: ctx.sql !== undefined });
          if (ctx.args[0] === "bad") throw new UsageError("bad is not a name");
          if (ctx.args[0] === "boom") throw new Error("boom");
          ctx.out(`hello ${ctx.args.join(" ")}`);
          return ctx.args[0] === "three" ? 3 : undefined;
        },
      },
    },
  });

  test("--help lists them; `<tool> <command> --help` prints its usage without running it", async () => {
    const top = fakeIO();
    expect(await runTool(tool, ["--help"], top)).toBe(0);
    expect(top.stdout.join("")).toMatch(/COMMANDS\n\n  greet  say hello/);
    const help = fakeIO();
    expect(await runTool(tool, ["greet", "--help"], help)).toBe(0);
    expect(help.stdout.join("")).toBe(`say hello (demo greet v${VERSION})\n\nUSAGE\n\n  demo greet NAME\n\n  NAME: who\n`);
    expect(seen).toEqual([]);
  });

  test("the words after the name reach run (-v taken out); its number is the exit code; failures are one line", async () => {
    const io = fakeIO();
    expect(await runTool(tool, ["greet", "-v", "you", "--loud"], io)).toBe(0);
    expect(io.stdout.join("")).toBe("hello you --loud\n");
    expect(seen.at(-1)).toEqual({ args: ["you", "--loud"], hasSql: false });
    expect(await runTool(tool, ["greet", "three"], fakeIO())).toBe(3);
    const usage = fakeIO();
    expect(await runTool(tool, ["greet", "bad"], usage)).toBe(2);
    expect(usage.lines().map((l) => l.Fields.msg)).toEqual(["demo greet: bad is not a name (see demo greet --help)"]);
    const failed = fakeIO();
    expect(await runTool(tool, ["greet", "boom"], failed)).toBe(1);
    expect(failed.lines()[0]!.Fields.msg).toBe("demo greet failed");
    // A word that is not a command is still the tool's own positional.
    let ran = "";
    const plain = demoTool({ run: async (ctx) => void (ran = ctx.settings.name), commands: tool.commands! });
    expect(await runTool(plain, ["greeting"], fakeIO())).toBe(0);
    expect(ran).toBe("greeting");
  });

  test("with databaseUrl the command gets a client; a missing URL is a usage error", async () => {
    const { url } = await createTestDatabase({ max: 1 });
    let answer = 0;
    const withDb = demoTool({
      commands: {
        count: {
          description: "ask the database",
          usage: ["demo count"],
          databaseUrl: (env) => {
            if (!env.DEMO_DATABASE_URL) throw new UsageError("DEMO_DATABASE_URL must be set");
            return env.DEMO_DATABASE_URL;
          },
          async run(ctx) {
            const [row] = await ctx.sql!<{ one: number }[]>`select 1 as one`;
            answer = row!.one;
          },
        },
      },
    });
    expect(await runTool(withDb, ["count"], fakeIO({ DEMO_DATABASE_URL: url }))).toBe(0);
    expect(answer).toBe(1);
    const missing = fakeIO();
    expect(await runTool(withDb, ["count"], missing)).toBe(2);
    expect(missing.lines()[0]!.Fields.msg).toContain("DEMO_DATABASE_URL must be set");
  });
});

describe("the database phases", async () => {
  const db = await createTestDatabase();

  test("the schema check runs before run; a SetupError from it is one line, exit 1", async () => {
    const io = fakeIO({ DEMO_DATABASE_URL: db.url });
    let ran = false;
    const tool = demoTool({
      checkSchema: async (sql) => {
        const [row] = await sql<{ present: boolean }[]>`select to_regclass('demo_table') is not null as present`;
        if (!row!.present) throw new SetupError("demo schema not found: missing table(s) demo_table (run `demo migrate`)");
      },
      run: async () => void (ran = true),
    });
    expect(await runTool(tool, ["x"], io)).toBe(1);
    expect(ran).toBe(false);
    expect(io.lines().map((l) => l.Fields.msg)).toEqual(["demo: demo schema not found: missing table(s) demo_table (run `demo migrate`)"]);
    await db.sql`create table demo_table (id int)`;
    expect(await runTool(tool, ["x"], fakeIO({ DEMO_DATABASE_URL: db.url }))).toBe(0);
    expect(ran).toBe(true);
  });

  test("a database that never answers: waited for, then one line naming it and the fix, exit 1", async () => {
    const url = "postgres://nobody:s3cret@127.0.0.1:1/nowhere";
    const io = fakeIO({ DEMO_DATABASE_URL: url, DATABASE_WAIT_TIMEOUT: "1" });
    const tool = demoTool({ checkSchema: async (sql) => void (await sql`select 1`) });
    expect(await runTool(tool, ["x"], io)).toBe(1);
    const last = io.lines().at(-1)!.Fields.msg;
    expect(last).toStartWith("demo: the database at postgres://nobody:[hidden]@127.0.0.1:1/nowhere did not answer within 1 s");
    expect(last).toContain("check the database URL");
    expect(io.stderr.join("")).not.toContain("s3cret");
    expect(io.stderr.join("")).not.toContain("    at ");
  });

  test("migrate applies the schemas and says so on stdout; a second run is up to date", async () => {
    const tool = demoTool({
      migrate: {
        schemas: async () => [{ domain: "demo", migrations: [{ version: 1, name: "create", sql: "create table demo_migrated (id int)" }] }],
        databaseUrl: (env) => env.DEMO_DATABASE_URL ?? "",
      },
    });
    const first = fakeIO({ DEMO_DATABASE_URL: db.url });
    expect(await runTool(tool, ["migrate"], first)).toBe(0);
    expect(first.stdout.join("")).toBe("demo applied: 1_create\n");
    const second = fakeIO({ DEMO_DATABASE_URL: db.url });
    expect(await runTool(tool, ["migrate"], second)).toBe(0);
    expect(second.stdout.join("")).toBe("demo schema is up to date\n");
    const help = fakeIO();
    expect(await runTool(tool, ["--help"], help)).toBe(0);
    expect(help.stdout.join("")).toContain("migrate");
  });

  test("migrate without a database URL is a usage error (exit 2)", async () => {
    const tool = demoTool({
      migrate: {
        schemas: async () => [],
        databaseUrl: () => {
          throw new UsageError("DEMO_DATABASE_URL must be set");
        },
      },
    });
    const io = fakeIO();
    expect(await runTool(tool, ["migrate"], io)).toBe(2);
    expect(io.lines()[0]!.Fields.msg).toContain("DEMO_DATABASE_URL must be set");
  });

  test("a statement blocked when the stop bound is nearly used up is cancelled, and the tool exits 0 in time", async () => {
    await db.sql`create table if not exists demo_lock (id int primary key)`;
    await db.sql`insert into demo_lock values (1) on conflict do nothing`;
    const holder = await db.sql.reserve();
    await holder`begin`;
    await holder`select * from demo_lock where id = 1 for update`;
    const io = fakeIO({ DEMO_DATABASE_URL: db.url });
    let statementError: unknown;
    let started!: () => void;
    const blocked = new Promise<void>((resolve) => (started = resolve));
    const tool = demoTool({
      stopTimeoutMs: 1_500,
      run: async (ctx) => {
        const { sql } = ctx as unknown as { sql: Sql };
        const statement = sql`select * from demo_lock where id = 1 for update`.execute();
        started();
        try {
          await statement;
        } catch (error) {
          statementError = error; // what a queue handler turns into "leave the message"
        }
        return ctx.signal.aborted ? 0 : 1;
      },
    });
    const run = runTool(tool, ["x"], io);
    await blocked;
    const t0 = performance.now();
    io.send("SIGTERM");
    expect(await run).toBe(0);
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(io.exits).toEqual([]);
    expect((statementError as { code?: string }).code).toMatch(/^CONNECTION_/);
    expect(io.lines().map((l) => l.Fields.msg)).toContain("Cancelling in-flight work (1000 ms into the stop); it will be picked up again later");
    await holder`rollback`;
    holder.release();
  });
});

describe("the two-stage stop", () => {
  const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  /** A promise resolved when run begins, and the function run calls to say so. */
  const runStarted = () => {
    let begin!: () => void;
    const started = new Promise<void>((resolve) => (begin = resolve));
    return { started, begin };
  };

  test("first signal: take no new work, finish, exit 0", async () => {
    const io = fakeIO();
    const events: string[] = [];
    const { started, begin } = runStarted();
    const tool = demoTool({
      run: async (ctx) => {
        begin();
        await untilAborted(ctx.signal);
        events.push(`stopping: ${(ctx.signal.reason as Error).message}`);
      },
    });
    const run = runTool(tool, ["x", "-v"], io);
    await started;
    io.send("SIGTERM");
    expect(await run).toBe(0);
    expect(events).toEqual(["stopping: received SIGTERM"]);
    expect(io.exits).toEqual([]);
    expect(io.lines()[0]).toMatchObject({ Fields: { msg: "Received SIGTERM; finishing the demo work", stopBoundMs: 300 } });
  });

  test("work that ignores the stop is told to abandon at two thirds of the bound, and the process exits 1 at the bound", async () => {
    const io = fakeIO();
    let abandonedAt = 0;
    let t0 = 0;
    const { started, begin } = runStarted();
    const tool = demoTool({
      run: async (ctx) => {
        begin();
        await untilAborted(ctx.abandon);
        abandonedAt = performance.now() - t0;
        await new Promise(() => {}); // stuck for good
      },
    });
    void runTool(tool, ["x"], io);
    await started;
    t0 = performance.now();
    io.send("SIGTERM");
    expect(await io.exited).toBe(1);
    expect(abandonedAt).toBeGreaterThanOrEqual(190);
    expect(io.lines().at(-1)!.Fields.msg).toBe("Did not stop in time (still running 300 ms after the stop began); exiting with work in flight");
  });

  test("a second signal exits at once: 143 for SIGTERM, 130 for SIGINT", async () => {
    for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
      const io = fakeIO();
      const { started, begin } = runStarted();
      const tool = demoTool({ stopTimeoutMs: 60_000, run: () => (begin(), new Promise(() => {})) });
      void runTool(tool, ["x"], io);
      await started;
      io.send(signal);
      expect(io.exits).toEqual([]);
      io.send(signal);
      expect(io.exits).toEqual([code]);
    }
  });

  test("a tool that finished stops listening for signals", async () => {
    const io = fakeIO();
    expect(await runTool(demoTool(), ["x"], io)).toBe(0);
    io.send("SIGTERM");
    io.send("SIGTERM");
    expect(io.exits).toEqual([]);
  });
});
