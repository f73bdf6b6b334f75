// Settings of purge-old-records, from its flags and the environment. Option names, spellings and
// defaults are the original's; the additions are --secret-file/PURGE_SECRET, --max-retries,
// --concurrency, --max-runtime and --ledger.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { intText, loggingSettings, metricsSettings, parseSettings, type Env, type LoggingSettings, type MetricsSettings } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import { tokenserverDbSettings, type TokenserverDbSettings } from "./config.ts";

export interface PurgeSettings {
  secret: string;
  purgeInterval: number;
  gracePeriod: number;
  maxPerLoop: number;
  maxOffset: number;
  maxRecords: number;
  requestTimeout: number;
  maxRetries: number;
  concurrency: number;
  maxRuntime?: number;
  oneshot: boolean;
  dryrun: boolean;
  force: boolean;
  ledger: boolean;
  overrideNode?: string;
  uidRange: readonly [string | undefined, string | undefined] | null;
  db: TokenserverDbSettings;
  logging: LoggingSettings;
  metrics: MetricsSettings;
}

/** Flags as citty parses them (strings; underscored names also accept dashes). */
export interface PurgeFlags {
  _: string[];
  secret_file?: string;
  purge_interval?: string;
  grace_period?: string;
  max_per_loop?: string;
  max_offset?: string;
  max_records?: string;
  request_timeout?: string;
  max_retries?: string;
  concurrency?: string;
  max_runtime?: string;
  oneshot?: boolean;
  dryrun?: boolean;
  force?: boolean;
  ledger?: boolean;
  override_node?: string;
  range_start?: string;
  range_end?: string;
  human_logs?: boolean;
  metric_host?: string;
  metric_port?: string;
}

/** The secret: the last positional argument (as the original), else --secret-file, else PURGE_SECRET. */
function readSecret(flags: PurgeFlags, env: Env): string {
  const positional = flags._.at(-1);
  if (positional) return positional;
  if (flags.secret_file) {
    try {
      return readFileSync(flags.secret_file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      throw new UsageError(`--secret-file: cannot read ${flags.secret_file}: ${(error as Error).message}`);
    }
  }
  if (env.PURGE_SECRET) return env.PURGE_SECRET;
  throw new UsageError("a SECRET is required (argument, --secret-file or PURGE_SECRET)");
}

const uidBound = z
  .string()
  .regex(/^\d+$/, "must be a uid (digits)")
  .optional();

export function purgeSettings(flags: PurgeFlags, verbosity: number, env: Env): PurgeSettings {
  const parsed = parseSettings(
    z.object({
      purgeInterval: intText({ min: 0 }),
      gracePeriod: intText(),
      maxPerLoop: intText({ min: 1, max: 100_000 }),
      maxOffset: intText({ min: 0 }),
      maxRecords: intText({ min: 0 }),
      requestTimeout: intText({ min: 1 }),
      maxRetries: intText({ min: 1, max: 100 }),
      concurrency: intText({ min: 1, max: 1_000 }),
      maxRuntime: intText({ min: 1 }).optional(),
      rangeStart: uidBound,
      rangeEnd: uidBound,
    }),
    {
      purgeInterval: flags.purge_interval ?? "3600",
      gracePeriod: flags.grace_period ?? "86400",
      maxPerLoop: flags.max_per_loop ?? "10",
      maxOffset: flags.max_offset ?? "0",
      maxRecords: flags.max_records ?? "0",
      requestTimeout: flags.request_timeout ?? "60",
      maxRetries: flags.max_retries ?? "5",
      concurrency: flags.concurrency ?? "4",
      maxRuntime: flags.max_runtime,
      rangeStart: flags.range_start || undefined,
      rangeEnd: flags.range_end || undefined,
    },
    {
      purgeInterval: "--purge-interval", gracePeriod: "--grace-period", maxPerLoop: "--max-per-loop",
      maxOffset: "--max-offset", maxRecords: "--max-records", requestTimeout: "--request-timeout",
      maxRetries: "--max-retries", concurrency: "--concurrency", maxRuntime: "--max-runtime",
      rangeStart: "--range_start", rangeEnd: "--range_end",
    },
  );
  const { rangeStart, rangeEnd, ...numbers } = parsed;
  return {
    ...numbers,
    secret: readSecret(flags, env),
    oneshot: Boolean(flags.oneshot),
    dryrun: Boolean(flags.dryrun),
    force: Boolean(flags.force),
    ledger: Boolean(flags.ledger),
    overrideNode: flags.override_node || undefined,
    uidRange: rangeStart || rangeEnd ? [rangeStart, rangeEnd] : null,
    db: tokenserverDbSettings(env),
    logging: loggingSettings({ verbosity, humanLogs: flags.human_logs }, env),
    metrics: metricsSettings({ metricHost: flags.metric_host, metricPort: flags.metric_port }, env, "tokenserver"),
  };
}
