// Settings of process-account-events, from its flags and the environment. Defaults live in the args
// (cmd/process-account-events.ts); this checks the values and adds the environment.
import { z } from "zod";
import { intText, parseSettings } from "../core/config.ts";
import type { commonArgs, databaseArgs, SettingsInput } from "../runtime/tool-spec.ts";
import { commonSettings, databaseSettings } from "../runtime/tool-settings.ts";
import { tokenserverDbSettings } from "./config.ts";

/** The flags this reads, besides the common and database ones. */
export interface AccountEventsFlags {
  queueName: string;
  awsRegion: string | undefined;
  queueWaitTime: string;
  concurrency: string;
  drain: boolean | undefined;
}

type Input = SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: AccountEventsFlags };

export function accountEventsSettings(input: Input) {
  const { flags, env, label } = input;
  const parsed = parseSettings(
    z.object({
      queue: z.string().min(1),
      queueWaitTime: intText({ min: 0, max: 20 }),
      concurrency: intText({ min: 1, max: 1000 }),
    }),
    { queue: flags.queueName, queueWaitTime: flags.queueWaitTime, concurrency: flags.concurrency },
    { queue: label("queueName"), queueWaitTime: label("queueWaitTime"), concurrency: label("concurrency") },
  );
  const db = tokenserverDbSettings(env);
  // The SDK reads AWS_REGION itself; it is read here too so an emulator endpoint keeps the region given.
  const region = flags.awsRegion || env.AWS_REGION || undefined;
  return {
    ...parsed,
    drain: Boolean(flags.drain),
    db,
    ...commonSettings(input, "tokenserver"),
    database: databaseSettings(input, { url: db.databaseUrl, poolSize: dbPoolSize(parsed.concurrency) }),
    sqs: { region, endpoint: env.AWS_ENDPOINT_URL_SQS || undefined },
  };
}

export type AccountEventsSettings = ReturnType<typeof accountEventsSettings>;

/**
 * One connection per four handlers (at least two). Measured on 2 cores: a pool as large as the handler
 * count spends its time in per-statement socket writes and backend context switches, while a small pool
 * lets postgres.js pipeline statements; 20,000 events went from ~3,000/s (pool 10) to ~3,800/s (pool 2).
 */
export function dbPoolSize(concurrency: number): number {
  return Math.max(2, Math.ceil(concurrency / 4));
}
