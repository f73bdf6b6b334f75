// Settings of process-account-events, from its flags and the environment.
import { z } from "zod";
import { intText, loggingSettings, metricsSettings, parseSettings, type Env, type LoggingSettings, type MetricsSettings } from "../core/config.ts";
import { tokenserverDbSettings, type TokenserverDbSettings } from "./config.ts";

export interface AccountEventsSettings {
  queue: string;
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
    awsRegion: flags.aws_region || undefined,
    sqsEndpoint: env.AWS_ENDPOINT_URL_SQS || undefined,
    drain: Boolean(flags.drain),
    db: tokenserverDbSettings(env),
    logging: loggingSettings({ verbosity, humanLogs: flags.human_logs }, env),
    metrics: metricsSettings({ metricHost: flags.metric_host, metricPort: flags.metric_port }, env, "tokenserver"),
  };
}
