// The tool runtime's front door. A tool is declared once (defineTool: meta, args, settings, what it needs,
// run) and `main` does the rest the same way for every tool: parse the command line, settings, logger,
// metrics, clients, the schema check, run, the bounded two-stage stop, clean-up and the exit code
// (0 ok, 1 runtime failure, 2 usage or configuration error).
//
// This file is what `--help` and `--version` load, so it imports nothing heavy: citty's parser and our
// usage text. The rest of the runtime (logger, zod settings, postgres.js, the AWS SDK) is imported
// only when a tool really runs (tool-runtime.ts), which keeps a cold `--help` close to a bare Bun program.
import { parseArgs, type ArgDef, type ArgsDef, type ParsedArgs } from "citty";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Sql } from "../db/client.ts";
import type { Migration } from "../db/migrate.ts";
import type { SqsClientOptions } from "../sqs/client.ts";
import type { Env, LoggingSettings, MetricsSettings } from "./config.ts";
import { ExitCode, UsageError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { renderUsage, stripAnsi, usageStyle } from "./usage.ts";
import { VERSION } from "./version.ts";

/** Options every tool shares, spelled as the originals spell them. */
export const commonArgs = {
  verbose: { type: "boolean", alias: "v", description: "Log more: -v for info, -vv for debug (repeatable)" },
  human_logs: { type: "boolean", description: "Human-readable log lines instead of JSON" },
  metric_host: { type: "string", valueHint: "HOST", description: "StatsD host (default: $STATSD_HOST or $SYNC_STATSD_HOST)" },
  metric_port: { type: "string", valueHint: "PORT", description: "StatsD port (default: $STATSD_PORT or $SYNC_STATSD_PORT)" },
} as const satisfies ArgsDef;

/** Seconds a database statement may run before PostgreSQL cancels it, unless configured. */
export const DEFAULT_STATEMENT_TIMEOUT = 10;
/** Seconds a tool waits at start for a database that does not answer yet, unless configured. */
export const DEFAULT_DATABASE_WAIT = 60;

/** Options of the tools that use PostgreSQL. */
export const databaseArgs = {
  "statement-timeout": {
    type: "string",
    valueHint: "SECONDS",
    description: `Cancel a database statement after this long, so a blocked statement cannot hold up a stop; 0: never (default: $DATABASE_STATEMENT_TIMEOUT or ${DEFAULT_STATEMENT_TIMEOUT})`,
  },
} as const satisfies ArgsDef;

// ---- typed flags ------------------------------------------------------------------------------------

type CamelCase<S extends string> = S extends `${infer Head}${"-" | "_"}${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** Flag values keyed by the camelCase of each declared name (`max-per-loop` → `maxPerLoop`). */
export type FlagValues<A extends ArgsDef> = { [K in keyof A & string as CamelCase<K>]: ParsedArgs<A>[K] };

const camelCase = (name: string) => name.replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** What a settings function receives. */
export interface SettingsInput<A extends ArgsDef> {
  flags: FlagValues<A>;
  /** Positional arguments beyond the declared ones. */
  extra: readonly string[];
  /** How many times -v was given. */
  verbosity: number;
  env: Env;
  /** What the operator typed for a flag (`maxPerLoop` → `--max-per-loop`), for error messages. */
  label(flag: string): string;
}

/** What every tool's settings carry; `database` and `sqs` make the runtime build those clients. */
export interface BaseSettings {
  logging: LoggingSettings & { silent?: boolean };
  metrics: MetricsSettings;
  database?: DatabaseSettings;
  sqs?: SqsClientOptions;
}

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  /** Seconds; 0 = no timeout. */
  statementTimeout: number;
  /** Seconds to keep retrying an unreachable database at start before giving up. */
  waitTimeout: number;
}

// ---- the context a tool runs in --------------------------------------------------------------------

export interface BaseContext<S> {
  readonly tool: string;
  readonly settings: S;
  readonly log: Logger;
  /** A logger whose lines are tagged with `component` (the mozlog `Type`). */
  logger(component: string): Logger;
  readonly metrics: Metrics;
  /** Aborted by the first SIGTERM/SIGINT (or --max-runtime style limits): take no new work. */
  readonly signal: AbortSignal;
  /** Aborted when the stop bound is nearly used up: cancel what is in flight (it will be redone later). */
  readonly abandon: AbortSignal;
  /** A line of data on stdout (logs go to stderr). */
  out(line: string): void;
}

export type ToolContext<S> = BaseContext<S> &
  (S extends { database: DatabaseSettings } ? { readonly sql: Sql } : unknown) &
  (S extends { sqs: SqsClientOptions } ? { readonly sqs: SQSClient } : unknown);

/** Infrastructure a tool builds in its composition root; `close` runs at clean-up. */
export interface Resources {
  close?(): Promise<void> | void;
}

export interface MigrateSpec {
  /** Loaded lazily; applied in order. */
  schemas: () => Promise<readonly { domain: string; migrations: readonly Migration[] }[]>;
  /** The database URL from the environment (throws a UsageError when missing). */
  databaseUrl: (env: Env) => string | Promise<string>;
}

export interface ToolSpec<A extends ArgsDef, S extends BaseSettings, R extends Resources> {
  meta: { name: string; description: string };
  args: A;
  settings(input: SettingsInput<A>): S | Promise<S>;
  /** The schema check run before `run`; waited for while the database is unreachable. */
  checkSchema?(sql: Sql): Promise<void>;
  /** Extra infrastructure (an SES client, an SMTP transport), built after the schema check. */
  resources?(ctx: ToolContext<S>): R | Promise<R>;
  run(ctx: ToolContext<S> & { resources: R }): Promise<number | void>;
  /**
   * After the first signal the tool has this long to finish in-flight work; at two thirds of it
   * `abandon` is aborted and database connections are closed, and at the bound the process exits 1.
   */
  stopTimeoutMs: number;
  /** What a stop waits for, as the stop's log line says it: "in-flight requests". */
  inFlight: string;
  /** `<tool> migrate`. */
  migrate?: MigrateSpec;
  /**
   * Subcommands, each a tool of its own (its own args, settings and run), chosen by the first words of
   * the command line: `{ serve: …, "clients set": … }` runs `<tool> clients set …` with the words removed.
   */
  commands?: Readonly<Record<string, AnyToolSpec>>;
}

/** Any tool, whatever its args, settings and resources (a subcommand is checked where it is declared). */
export type AnyToolSpec = ToolSpec<any, any, any>;

/** Declares a tool. Only a typing aid: the spec is returned as it is. */
export function defineTool<A extends ArgsDef, S extends BaseSettings, R extends Resources = Resources>(spec: ToolSpec<A, S, R>): ToolSpec<A, S, R> {
  return spec;
}

// ---- running -----------------------------------------------------------------------------------------

export interface ToolIO {
  out(text: string): void;
  err(text: string): void;
  env: Env;
  isTerminal: boolean;
  /** Where SIGTERM/SIGINT come from; tests send their own. */
  onSignal(handler: (signal: "SIGTERM" | "SIGINT") => void): () => void;
  /** Ends the process at once (second signal, stop deadline). */
  exit(code: number): void;
}

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

/** Counts -v / -vv / --verbose and removes them, since citty has no counting flags. */
export function takeVerbosity(rawArgs: readonly string[]): { verbosity: number; rest: string[] } {
  let verbosity = 0;
  const rest: string[] = [];
  for (const arg of rawArgs) {
    if (arg === "--verbose") verbosity += 1;
    else if (/^-v+$/.test(arg)) verbosity += arg.length - 1;
    else rest.push(arg);
  }
  return { verbosity, rest };
}

const aliasesOf = (def: ArgDef) => ("alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : []);

const spellingKey = (name: string) => name.replaceAll("_", "-");

/**
 * Rewrites each option to its declared spelling, so `--human-logs` reaches `human_logs` and
 * `--max_per_loop` reaches `max-per-loop` (the originals mix both); an undeclared option is a UsageError.
 */
function canonicalOptions(rawArgs: readonly string[], args: ArgsDef): string[] {
  const declared = new Map<string, string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    for (const n of [name, ...aliasesOf(def)]) declared.set(spellingKey(n), n);
  }
  const out: string[] = [];
  let optionsEnded = false;
  for (const arg of rawArgs) {
    if (optionsEnded || arg === "--" || !arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      optionsEnded ||= arg === "--";
      out.push(arg);
      continue;
    }
    const [flag, ...value] = arg.split("=");
    const dashes = flag!.startsWith("--") ? "--" : "-";
    let name = flag!.slice(dashes.length);
    const negated = name.startsWith("no-") && !declared.has(spellingKey(name));
    if (negated) name = name.slice(3);
    const spelled = declared.get(spellingKey(name));
    if (spelled === undefined) throw new UsageError(`no such option: ${flag}`);
    out.push(`${dashes}${negated ? "no-" : ""}${spelled}${value.length ? "=" + value.join("=") : ""}`);
  }
  return out;
}

/** Parses the command line into typed flags; a bad command line is a UsageError. */
export function parseFlags<A extends ArgsDef>(args: A, rawArgs: readonly string[]): { flags: FlagValues<A>; extra: string[] } {
  const canonical = canonicalOptions(rawArgs, args);
  let parsed: ParsedArgs<A>;
  try {
    parsed = parseArgs(canonical, args) as ParsedArgs<A>;
  } catch (error) {
    throw new UsageError(stripAnsi((error as Error).message));
  }
  const flags: Record<string, unknown> = {};
  for (const name of Object.keys(args)) flags[camelCase(name)] = parsed[name];
  const declaredPositionals = Object.values(args).filter((d) => d.type === "positional").length;
  return { flags: flags as FlagValues<A>, extra: parsed._.slice(declaredPositionals) };
}

export function flagLabel(args: ArgsDef, flag: string): string {
  for (const [name, def] of Object.entries(args)) {
    if (camelCase(name) === flag) return def.type === "positional" ? name.toUpperCase() : `--${name}`;
  }
  return flag;
}

const MIGRATE_HELP = "Apply the tool's database schema (for development and tests)";

/** The subcommand named by the first words of `rawArgs` (the longest match), if any. */
export function findCommand(spec: AnyToolSpec, rawArgs: readonly string[]): { name: string; words: number; spec: AnyToolSpec } | undefined {
  let found: { name: string; words: number; spec: AnyToolSpec } | undefined;
  for (const [name, command] of Object.entries(spec.commands ?? {})) {
    const words = name.split(" ");
    if (words.every((word, i) => rawArgs[i] === word) && (!found || words.length > found.words)) found = { name, words: words.length, spec: command };
  }
  return found;
}

/** What `--help` lists under COMMANDS. */
function commandList(spec: AnyToolSpec): Record<string, string> {
  const list: Record<string, string> = {};
  for (const [name, command] of Object.entries(spec.commands ?? {})) list[name] = command.meta.description;
  if (spec.migrate) list.migrate = MIGRATE_HELP;
  return list;
}

/**
 * Runs a tool with `rawArgs` and returns its exit code (the process is ended by `main`). `--help` and
 * `--version` are answered here without loading the rest of the runtime.
 */
export async function runTool<A extends ArgsDef, S extends BaseSettings, R extends Resources>(
  spec: ToolSpec<A, S, R>,
  rawArgs: readonly string[],
  io: ToolIO = processIO(),
): Promise<number> {
  const command = findCommand(spec, rawArgs);
  if (command) {
    const named = { ...command.spec, meta: { ...command.spec.meta, name: `${spec.meta.name} ${command.name}` } };
    return runTool(named, rawArgs.slice(command.words), io);
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
        : renderUsage(meta, { ...spec.args }, style, commandList(spec)),
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

/** The last line of every cmd/ file: run, then exit with the code. */
export async function main<A extends ArgsDef, S extends BaseSettings, R extends Resources>(spec: ToolSpec<A, S, R>): Promise<never> {
  const io = processIO();
  const code = await runTool(spec, process.argv.slice(2), io);
  return io.exit(code) as never;
}
