// Settings of process-account-events, from its flags and the environment. Defaults live in the args
// (cmd/process-account-events.ts); this checks the values and adds the environment.
import { z } from "zod";
import { intText, parseSettings } from "../core/config.ts";
import type { commonArgs, databaseArgs, SettingsInput } from "../runtime/tool-spec.ts";
import { commonSettings, databaseSettings } from "../runtime/tool-settings.ts";
import { UsageError } from "../core/errors.ts";
import { tokenserverDbSettings } from "./config.ts";
import { DEFAULT_FXA_EMAIL_DOMAIN } from "./set-events.ts";

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

/** The flags of `serve`, besides the common and database ones. */
export interface EventsServeFlags {
  host: string | undefined;
  port: string | undefined;
}

export const DEFAULT_SERVE_PORT = "8000";

/**
 * `serve`'s settings: where to listen (--host, else 127.0.0.1; --port, else PORT, else 8000), the broker
 * whose SETs are accepted (BROKER_JWKS_URL, BROKER_ISSUER, BROKER_AUDIENCE: all required) and the
 * tokenserver email domain (SYNC_TOKENSERVER__FXA_EMAIL_DOMAIN, as syncstorage-rs names it).
 */
export function eventsServeSettings(input: SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: EventsServeFlags }) {
  const { flags, env, label } = input;
  if (input.extra.length > 0) throw new UsageError(`serve: unexpected argument ${JSON.stringify(input.extra[0])}`);
  const parsed = parseSettings(
    z.object({
      host: z.string().min(1),
      port: intText({ min: 0, max: 65535 }),
      jwksUrl: z.url({ protocol: /^https?$/ }),
      issuer: z.string().min(1),
      audience: z.string().min(1),
      emailDomain: z.string().regex(/^[^@\s]+$/, "must be a domain (no @ or spaces)"),
    }),
    {
      host: flags.host || "127.0.0.1",
      port: flags.port || env.PORT || DEFAULT_SERVE_PORT,
      jwksUrl: env.BROKER_JWKS_URL ?? "",
      issuer: env.BROKER_ISSUER ?? "",
      audience: env.BROKER_AUDIENCE ?? "",
      emailDomain: env.SYNC_TOKENSERVER__FXA_EMAIL_DOMAIN || DEFAULT_FXA_EMAIL_DOMAIN,
    },
    {
      host: label("host"),
      port: flags.port ? label("port") : "PORT",
      jwksUrl: "BROKER_JWKS_URL (the broker's /.well-known/jwks.json)",
      issuer: "BROKER_ISSUER (the broker's OPENID_ISSUER)",
      audience: "BROKER_AUDIENCE (the client id the tokenserver is registered as)",
      emailDomain: "SYNC_TOKENSERVER__FXA_EMAIL_DOMAIN",
    },
  );
  const db = tokenserverDbSettings(env);
  return {
    host: parsed.host,
    port: parsed.port,
    broker: { jwksUrl: parsed.jwksUrl, issuer: parsed.issuer, audience: parsed.audience },
    emailDomain: parsed.emailDomain,
    db,
    ...commonSettings(input, "tokenserver"),
    database: databaseSettings(input, { url: db.databaseUrl, poolSize: 4 }),
  };
}

export type EventsServeSettings = ReturnType<typeof eventsServeSettings>;
