// The shared command-line entry: help, version, the repeatable -v, unknown-option checks, subcommands such
// as `migrate`, and the exit-code contract (0 ok, 1 runtime failure, 2 usage or configuration error).
import { renderUsage, runCommand, type ArgsDef, type CommandDef } from "citty";
import { ExitCode, UsageError } from "./errors.ts";
import { VERSION } from "./version.ts";

/** Options every tool shares, spelled as the originals spell them. */
export const loggingArgs = {
  verbose: { type: "boolean", alias: "v", description: "Log more: -v for info, -vv for debug (repeatable)" },
  human_logs: { type: "boolean", description: "Human-readable log lines instead of JSON" },
  metric_host: { type: "string", description: "StatsD host (default: $STATSD_HOST or $SYNC_STATSD_HOST)" },
  metric_port: { type: "string", description: "StatsD port (default: $STATSD_PORT or $SYNC_STATSD_PORT)" },
} as const satisfies ArgsDef;

/** What `run` receives besides citty's parsed args. */
export interface RunData {
  verbosity: number;
}

export interface ToolIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: ToolIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Counts -v / -vv / --verbose and removes them, since citty has no counting flags. */
export function takeVerbosity(rawArgs: string[]): { verbosity: number; rest: string[] } {
  let verbosity = 0;
  const rest: string[] = [];
  for (const arg of rawArgs) {
    if (arg === "--verbose") verbosity += 1;
    else if (/^-v+$/.test(arg)) verbosity += arg.length - 1;
    else rest.push(arg);
  }
  return { verbosity, rest };
}

function knownOptionNames(args: ArgsDef): Set<string> {
  const names = new Set<string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    for (const n of [name, ...aliases]) {
      names.add(n);
      names.add(n.replaceAll("_", "-")); // --human_logs also answers to --human-logs
    }
  }
  return names;
}

function rejectUnknownOptions(rawArgs: string[], args: ArgsDef): void {
  const known = knownOptionNames(args);
  for (const arg of rawArgs) {
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) continue;
    const name = arg.replace(/^--?/, "").split("=")[0]!.replace(/^no-/, "");
    if (!known.has(name)) throw new UsageError(`no such option: ${arg.split("=")[0]}`);
  }
}

/**
 * Runs a tool's command and returns its exit code. `run` may return an exit code; throwing a UsageError
 * (or citty's own argument errors) gives 2, anything else 1.
 */
export async function runTool(
  cmd: CommandDef<any>,
  rawArgs: string[],
  options: { subCommands?: Record<string, CommandDef<any>>; io?: ToolIO } = {},
): Promise<number> {
  const io = options.io ?? stdio;
  const sub = rawArgs[0] ? options.subCommands?.[rawArgs[0]] : undefined;
  const target = sub ?? cmd;
  const args = sub ? rawArgs.slice(1) : rawArgs;
  const { verbosity, rest } = takeVerbosity(args);
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out((await renderUsage(target, sub ? cmd : undefined)) + "\n");
    return ExitCode.ok;
  }
  if (rest.includes("--version")) {
    io.out(`${VERSION}\n`);
    return ExitCode.ok;
  }
  try {
    rejectUnknownOptions(rest, (target.args ?? {}) as ArgsDef);
    const data: RunData = { verbosity };
    const { result } = await runCommand(target, { rawArgs: rest, data });
    return typeof result === "number" ? result : ExitCode.ok;
  } catch (error) {
    if (error instanceof UsageError || (error as Error)?.name === "CLIError") {
      io.err(`${(await renderUsage(target, sub ? cmd : undefined)).split("\n").find((l) => l.includes("USAGE")) ?? ""}\n`);
      io.err(`error: ${(error as Error).message}\n`);
      return ExitCode.usage;
    }
    io.err(`error: ${(error as Error)?.stack ?? String(error)}\n`);
    return ExitCode.failure;
  }
}

/** The last line of every cmd/ file: run, then exit with the code. */
export async function main(cmd: CommandDef<any>, subCommands?: Record<string, CommandDef<any>>): Promise<never> {
  const code = await runTool(cmd, process.argv.slice(2), { subCommands });
  process.exit(code);
}
