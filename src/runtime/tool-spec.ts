// What a tool declares to the runtime (defineTool): its args, settings, the schema check, resources, run,
// its stop bound and migrations; and what it gets back (ToolContext). Types and plain data only, so the
// command files can import it without loading anything heavy.
import type { ArgsDef, ParsedArgs } from "citty";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Sql } from "../db/client.ts";
import type { Migration } from "../db/migrate.ts";
import type { SqsClientOptions } from "../sqs/client.ts";
import type { Env, LoggingSettings, MetricsSettings } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../core/metrics.ts";

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

/** What a command (`<tool> <command> ...`) runs with. */
export interface CommandContext {
  /** The words after the command's name (-v/--verbose already taken out). */
  args: readonly string[];
  env: Env;
  log: Logger;
  /** A line of data on stdout (logs go to stderr). */
  out(line: string): void;
  /** Present when the command declares `databaseUrl`; connects at its first query. */
  sql?: Sql;
}

/**
 * A command of the tool run instead of the tool itself, e.g. `email-send callers add NAME`. It parses its
 * own words: a bad one is a UsageError (exit 2); otherwise its number (or 0) is the exit code.
 */
export interface CommandSpec {
  description: string;
  /** The lines of its --help after the description, e.g. "email-send callers add NAME [--rate N/PERIOD]". */
  usage: readonly string[];
  /** The database URL from the environment (throws a UsageError when missing); the runtime opens the client. */
  databaseUrl?: (env: Env) => string | Promise<string>;
  run(ctx: CommandContext): Promise<number | void>;
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
  /** `<tool> <name> ...`: administration commands, by name (the first word of the command line). */
  commands?: Record<string, CommandSpec>;
}

/** Declares a tool. Only a typing aid: the spec is returned as it is. */
export function defineTool<A extends ArgsDef, S extends BaseSettings, R extends Resources = Resources>(spec: ToolSpec<A, S, R>): ToolSpec<A, S, R> {
  return spec;
}

/** The process around a tool: output, environment, signals and exit; tests pass their own. */
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
