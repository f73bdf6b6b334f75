// The tool runtime's front door: `main(tool)` runs a tool declared with defineTool (tool-spec.ts) and
// does the rest the same way for every tool: parse the command line, settings, logger, metrics,
// clients, the schema check, run, the bounded two-stage stop, clean-up and the exit code (0 ok,
// 1 runtime failure, 2 usage or configuration error).
//
// This file is what `--help` and `--version` load, so it imports nothing heavy: citty's parser and our
// usage text. The rest of the runtime (logger, zod settings, postgres.js, the AWS SDK) is imported
// only when a tool really runs (tool-runtime.ts), which keeps a cold `--help` close to a bare Bun program.
import type { ArgsDef } from "citty";
import { ExitCode } from "../core/errors.ts";
import { takeVerbosity } from "./flags.ts";
import type { BaseSettings, Resources, ToolIO, ToolSpec } from "./tool-spec.ts";
import { renderUsage, usageStyle } from "./usage.ts";
import { VERSION } from "../core/version.ts";

export { commonArgs, databaseArgs, defineTool } from "./tool-spec.ts";

const processIO = (): ToolIO => ({
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
  isTerminal: Boolean(process.stdout.isTTY),
  onSignal(handler) {
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
    return () => {
      process.off("SIGTERM", handler);
      process.off("SIGINT", handler);
    };
  },
  exit: (code) => process.exit(code),
});

const MIGRATE_HELP = "Apply the tool's database schema (for development and tests)";

/**
 * Runs a tool with `rawArgs` and returns its exit code (the process is ended by `main`). `--help` and
 * `--version` are answered here without loading the rest of the runtime.
 */
export async function runTool<A extends ArgsDef, S extends BaseSettings, R extends Resources>(
  spec: ToolSpec<A, S, R>,
  rawArgs: readonly string[],
  io: ToolIO = processIO(),
): Promise<number> {
  const command = rawArgs[0] !== undefined && Object.hasOwn(spec.commands ?? {}, rawArgs[0]) ? rawArgs[0] : undefined;
  if (command !== undefined) return runCommand(spec, command, rawArgs.slice(1), io);
  const isMigrate = rawArgs[0] === "migrate" && spec.migrate !== undefined;
  const args = isMigrate ? rawArgs.slice(1) : rawArgs;
  const { verbosity, rest } = takeVerbosity(args);
  if (rest.includes("--help") || rest.includes("-h")) {
    const meta = { ...spec.meta, version: VERSION };
    const style = usageStyle(io.isTerminal, io.env);
    io.out(
      isMigrate
        ? renderUsage({ ...meta, name: `${spec.meta.name} migrate`, description: MIGRATE_HELP }, {}, style)
        : renderUsage(meta, { ...spec.args }, style, {
            ...(spec.migrate ? { migrate: MIGRATE_HELP } : {}),
            ...Object.fromEntries(Object.entries(spec.commands ?? {}).map(([name, c]) => [name, c.description])),
          }),
    );
    return ExitCode.ok;
  }
  if (rest.includes("--version")) {
    io.out(`${VERSION}\n`);
    return ExitCode.ok;
  }
  const runtime = await import("./tool-runtime.ts");
  return isMigrate ? runtime.executeMigrate(spec, rest, io) : runtime.execute(spec, rest, verbosity, io);
}

/** `<tool> <command> ...`: its --help here, the rest in the runtime (a client when it needs the database). */
async function runCommand<A extends ArgsDef, S extends BaseSettings, R extends Resources>(
  spec: ToolSpec<A, S, R>,
  name: string,
  rawArgs: readonly string[],
  io: ToolIO,
): Promise<number> {
  const command = spec.commands![name]!;
  const { rest } = takeVerbosity(rawArgs);
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(`${command.description} (${spec.meta.name} ${name} v${VERSION})\n\nUSAGE\n\n${command.usage.map((line) => (line ? `  ${line}\n` : "\n")).join("")}`);
    return ExitCode.ok;
  }
  const runtime = await import("./tool-runtime.ts");
  return runtime.executeCommand(spec, name, rest, io);
}

/** The last line of every cmd/ file: run, then exit with the code. */
export async function main<A extends ArgsDef, S extends BaseSettings, R extends Resources>(spec: ToolSpec<A, S, R>): Promise<never> {
  const io = processIO();
  const code = await runTool(spec, process.argv.slice(2), io);
  return io.exit(code) as never;
}
