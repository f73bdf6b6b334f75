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
import type { AnyToolSpec, BaseSettings, CommandGroup, Commands, Resources, ToolIO, ToolSpec } from "./tool-spec.ts";
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
  const command = commandNamed(spec.commands, rawArgs[0]);
  if (command) return runCommand(command, `${spec.meta.name} ${rawArgs[0]}`, rawArgs.slice(1), io);
  const variant = rawArgs[0] === "migrate" ? Object.entries(spec.migrate?.variants ?? {}).find(([flag]) => rawArgs.includes(`--${flag}`)) : undefined;
  if (variant) {
    const [flag, variantTool] = variant;
    return runTool({ ...variantTool, meta: { ...variantTool.meta, name: `${spec.meta.name} migrate` } }, rawArgs.slice(1).filter((a) => a !== `--${flag}`), io);
  }
  const isMigrate = rawArgs[0] === "migrate" && spec.migrate !== undefined;
  const args = isMigrate ? rawArgs.slice(1) : rawArgs;
  const { verbosity, rest } = takeVerbosity(args);
  if (rest.includes("--help") || rest.includes("-h")) {
    const meta = { ...spec.meta, version: VERSION };
    const style = usageStyle(io.isTerminal, io.env);
    io.out(
      isMigrate
        ? renderUsage({ ...meta, name: `${spec.meta.name} migrate`, description: MIGRATE_HELP }, {}, style)
        : renderUsage(meta, { ...spec.args }, style, { ...(spec.migrate ? { migrate: MIGRATE_HELP } : {}), ...commandList(spec.commands) }),
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

const commandNamed = (commands: Commands | undefined, word: string | undefined) =>
  commands && word !== undefined && Object.hasOwn(commands, word) ? commands[word] : undefined;

const commandList = (commands: Commands | undefined) =>
  Object.fromEntries(Object.entries(commands ?? {}).map(([name, c]) => [name, c.meta.description]));

/** A command: a tool of its own under its full name, or a group that picks one by the next word. */
async function runCommand(command: AnyToolSpec | CommandGroup, name: string, rawArgs: readonly string[], io: ToolIO): Promise<number> {
  if ("run" in command) return runTool({ ...command, meta: { ...command.meta, name } }, rawArgs, io);
  const sub = commandNamed(command.commands, rawArgs[0]);
  if (sub) return runCommand(sub, `${name} ${rawArgs[0]}`, rawArgs.slice(1), io);
  const usage = renderUsage({ name, description: command.meta.description, version: VERSION }, {}, usageStyle(io.isTerminal, io.env), commandList(command.commands));
  if (rawArgs.includes("--help") || rawArgs.includes("-h")) {
    io.out(usage);
    return ExitCode.ok;
  }
  io.err(usage);
  io.err(`error: ${rawArgs[0] === undefined ? "a command is required" : `no such command: ${rawArgs[0]}`}\n`);
  return ExitCode.usage;
}

/**
 * The last line of every cmd/ file: run, then exit with the code. `rawArgs` is for a front end that has
 * already taken words off the command line (`fxa-ops <tool> …`, cmd/all/fxa-ops.ts).
 */
export async function main<A extends ArgsDef, S extends BaseSettings, R extends Resources>(
  spec: ToolSpec<A, S, R>,
  rawArgs: readonly string[] = process.argv.slice(2),
): Promise<never> {
  const io = processIO();
  const code = await runTool(spec, rawArgs, io);
  return io.exit(code) as never;
}
