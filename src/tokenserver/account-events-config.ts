// Settings of process-account-events, from its flags and the environment.
import { z } from "zod";
import { intText, loggingSettings, metricsSettings, parseSettings, type Env, type LoggingSettings, type MetricsSettings } from "../core/config.ts";
import { tokenserverDbSettings, type TokenserverDbSettings } from "./config.ts";

export interface AccountEventsSettings {
  queue: string;
  /** Database connections: fewer than handlers, so postgres.js pipelines statements per connection. */
  dbPoolSize: number;
  awsRegion?: string;
  sqsEndpoint?: string;
  queueWaitTime: number;
  concurrency: number;
  drain: boolean;
  db: TokenserverDbSettings;
  logging: LoggingSettings;
  metrics: MetricsSettings;
}

export interface AccountEventsFlags {
  queue_name: string;
  aws_region?: string;
  queue_wait_time?: string;
  concurrency?: string;
  drain?: boolean;
  human_logs?: boolean;
  metric_host?: string;
  metric_port?: string;
}

export function accountEventsSettings(flags: AccountEventsFlags, verbosity: number, env: Env): AccountEventsSettings {
  const parsed = parseSettings(
    z.object({
      queue: z.string().min(1),
      queueWaitTime: intText({ min: 0, max: 20 }),
      concurrency: intText({ min: 1, max: 1000 }),
    }),
    { queue: flags.queue_name, queueWaitTime: flags.queue_wait_time ?? "20", concurrency: flags.concurrency ?? "8" },
    { queue: "QUEUE_NAME", queueWaitTime: "--queue-wait-time", concurrency: "--concurrency" },
  );
  return {
    ...parsed,
    dbPoolSize: dbPoolSize(parsed.concurrency),
    // The SDK reads AWS_REGION itself; it is read here too so an emulator endpoint keeps the region given.
    awsRegion: flags.aws_region || env.AWS_REGION || undefined,
    sqsEndpoint: env.AWS_ENDPOINT_URL_SQS || undefined,
    drain: Boolean(flags.drain),
    db: tokenserverDbSettings(env),
    logging: loggingSettings({ verbosity, humanLogs: flags.human_logs }, env),
    metrics: metricsSettings({ metricHost: flags.metric_host, metricPort: flags.metric_port }, env, "tokenserver"),
  };
}

/**
 * One connection per four handlers (at least two). Measured on 2 cores: a pool as large as the handler
 * count spends its time in per-statement socket writes and backend context switches, while a small pool
 * lets postgres.js pipeline statements; 20,000 events went from ~3,000/s (pool 10) to ~3,800/s (pool 2).
 */
export function dbPoolSize(concurrency: number): number {
  return Math.max(2, Math.ceil(concurrency / 4));
}
