// The settings every tool shares, built from the common flags and the environment: logging, StatsD and,
// for the tools that use PostgreSQL, the database client's settings.
import { z } from "zod";
import { intText, loggingSettings, metricsSettings, parseSettings } from "../core/config.ts";
import { DEFAULT_DATABASE_WAIT, DEFAULT_STATEMENT_TIMEOUT, type BaseSettings, type commonArgs, type databaseArgs, type DatabaseSettings, type SettingsInput } from "./tool-spec.ts";

/** Logging (-v, --human_logs, LOG_LEVEL, LOG_FORMAT) and metrics (--metric_host/--metric_port, STATSD_*). */
export function commonSettings(input: SettingsInput<typeof commonArgs>, metricsPrefix: string): Pick<BaseSettings, "logging" | "metrics"> {
  const { flags, env } = input;
  return {
    logging: loggingSettings({ verbosity: input.verbosity, humanLogs: flags.humanLogs }, env),
    metrics: metricsSettings({ metricHost: flags.metricHost, metricPort: flags.metricPort }, env, metricsPrefix),
  };
}

/**
 * The database client: `url` (already checked by the tool's own rule), a pool of `poolSize`, the
 * statement timeout (--statement-timeout, DATABASE_STATEMENT_TIMEOUT) and how long to wait at start for
 * a database that does not answer (DATABASE_WAIT_TIMEOUT).
 */
export function databaseSettings(input: SettingsInput<typeof databaseArgs>, client: { url: string; poolSize: number }): DatabaseSettings {
  const fromFlag = input.flags.statementTimeout !== undefined;
  const parsed = parseSettings(
    z.object({ statementTimeout: intText({ min: 0, max: 86_400 }), waitTimeout: intText({ min: 0, max: 86_400 }) }),
    {
      statementTimeout: input.flags.statementTimeout ?? (input.env.DATABASE_STATEMENT_TIMEOUT || DEFAULT_STATEMENT_TIMEOUT),
      waitTimeout: input.env.DATABASE_WAIT_TIMEOUT || DEFAULT_DATABASE_WAIT,
    },
    { statementTimeout: fromFlag ? input.label("statementTimeout") : "DATABASE_STATEMENT_TIMEOUT", waitTimeout: "DATABASE_WAIT_TIMEOUT" },
  );
  return { url: client.url, poolSize: client.poolSize, ...parsed };
}
