// Configuration is parsed once, with zod, into a frozen typed object. Only config code reads process.env;
// the rest of the program receives the result. A bad value is a UsageError naming the flag or variable.
import { z } from "zod";
import { UsageError } from "./errors.ts";
import type { LogFormat, LogLevelName } from "./logger.ts";
import { levelFromVerbosity } from "./logger.ts";

export type Env = Record<string, string | undefined>;

/**
 * Parses `raw` with `schema`. `labels` maps each key to what the operator typed (`--max-per-loop`,
 * `SYNC_TOKENSERVER__DATABASE_URL`) so the error names it.
 */
export function parseSettings<S extends z.ZodType>(schema: S, raw: Record<string, unknown>, labels: Record<string, string>): Readonly<z.infer<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "");
      return `${labels[key] ?? key}: ${issue.message}`;
    });
    throw new UsageError(problems.join("; "));
  }
  return Object.freeze(result.data);
}

/** An integer given as text (flags and env vars are strings). */
export const intText = (opts: { min?: number; max?: number } = {}) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const text = String(v).trim();
      if (!/^-?\d+$/.test(text)) {
        ctx.addIssue({ code: "custom", message: `invalid integer value: '${v}'` });
        return z.NEVER;
      }
      const n = Number(text);
      if (opts.min !== undefined && n < opts.min) {
        ctx.addIssue({ code: "custom", message: `must be at least ${opts.min}` });
        return z.NEVER;
      }
      if (opts.max !== undefined && n > opts.max) {
        ctx.addIssue({ code: "custom", message: `must be at most ${opts.max}` });
        return z.NEVER;
      }
      return n;
    });

export interface LoggingSettings {
  level: LogLevelName;
  format: LogFormat;
}

export interface MetricsSettings {
  host?: string;
  port?: number;
  prefix?: string;
}

const logLevel = z.enum(["error", "warn", "info", "debug"]);

/** LOG_LEVEL and LOG_FORMAT, read the same way by every tool; unset or empty is undefined. */
export function commonLogging(env: Env): Partial<LoggingSettings> {
  return parseSettings(
    z.object({ level: logLevel.optional(), format: z.enum(["json", "pretty"]).optional() }),
    { level: env.LOG_LEVEL?.toLowerCase() || undefined, format: env.LOG_FORMAT?.toLowerCase() || undefined },
    { level: "LOG_LEVEL", format: "LOG_FORMAT" },
  );
}

/** Logging: -v count and --human_logs from the command line, LOG_LEVEL / LOG_FORMAT from the environment. */
export function loggingSettings(flags: { verbosity: number; humanLogs?: boolean }, env: Env): LoggingSettings {
  const common = commonLogging(env);
  return {
    level: levelFromVerbosity(flags.verbosity, common.level),
    format: flags.humanLogs ? "pretty" : (common.format ?? "json"),
  };
}

/** StatsD: --metric_host/--metric_port, else STATSD_HOST/STATSD_PORT, else the originals' SYNC_STATSD_*. */
export function metricsSettings(flags: { metricHost?: string; metricPort?: string }, env: Env, defaultPrefix: string): MetricsSettings {
  const host = flags.metricHost || env.STATSD_HOST || env.SYNC_STATSD_HOST || undefined;
  const portText = flags.metricPort || env.STATSD_PORT || env.SYNC_STATSD_PORT || undefined;
  const parsed = parseSettings(
    z.object({ port: intText({ min: 1, max: 65535 }).optional() }),
    { port: portText },
    { port: flags.metricPort ? "--metric_port" : "STATSD_PORT" },
  );
  return { host, port: parsed.port, prefix: env.STATSD_PREFIX || defaultPrefix };
}
