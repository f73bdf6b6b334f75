// Settings of account-config (spec/account-config.md §9), from its flags and the environment; flags win.
// `serve` needs all of them; `dump` and `check-queues` only the database (and SQS for the latter).
import { z } from "zod";
import { intText, parseSettings, type Env } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import type { commonArgs, databaseArgs, SettingsInput } from "../runtime/tool-spec.ts";
import { commonSettings, databaseSettings } from "../runtime/tool-settings.ts";
import { databaseUrlFrom, normalizeDatabaseUrl } from "../db/database-url.ts";

/** The console's admin token is typed by people and guards every account's configuration: not a short word. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The refresh pool: one refresh at a time, plus room for `migrate`-style one-offs and the LISTEN probe. */
const POOL_SIZE = 2;

type Input<F> = SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: F };

export function accountConfigDatabaseUrl(env: Env): string {
  return databaseUrlFrom(env, ["DATABASE_URL"], "the PostgreSQL database holding the attrib and attrib_client schemas");
}

/** on/off, true/false, 1/0, yes/no (any case); unset → the default. */
function switchValue(name: string, text: string | undefined, fallback: boolean): boolean {
  if (text === undefined || text === "") return fallback;
  const t = text.trim().toLowerCase();
  if (["1", "on", "true", "yes"].includes(t)) return true;
  if (["0", "off", "false", "no"].includes(t)) return false;
  throw new UsageError(`${name}: expected on or off (got '${text}')`);
}

function sqsSettings(env: Env) {
  return { region: env.AWS_REGION || undefined, endpoint: env.AWS_ENDPOINT_URL_SQS || env.SQS_ENDPOINT || undefined };
}

export interface ServeFlags {
  host: string | undefined;
  port: string | undefined;
  pollIntervalMs: string | undefined;
  staleAfterMs: string | undefined;
  fullReloadIntervalMs: string | undefined;
  listen: boolean | undefined;
  visscoreCheck: boolean | undefined;
}

export function serveSettings(input: Input<ServeFlags>) {
  const { flags, env, label } = input;
  const from = (flag: keyof ServeFlags, envName: string) => (flags[flag] !== undefined ? label(flag) : envName);
  const parsed = parseSettings(
    z.object({
      host: z.string().min(1),
      port: intText({ min: 0, max: 65535 }),
      pollIntervalMs: intText({ min: 100, max: 86_400_000 }),
      staleAfterMs: intText({ min: 1_000, max: 86_400_000 }),
      fullReloadIntervalMs: intText({ min: 1_000, max: 7 * 86_400_000 }),
      adminToken: z.string().min(MIN_ADMIN_TOKEN_LENGTH, `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`).optional(),
    }),
    {
      host: flags.host ?? (env.HOST || "127.0.0.1"),
      port: flags.port ?? (env.PORT || "8080"),
      pollIntervalMs: flags.pollIntervalMs ?? (env.POLL_INTERVAL_MS || "10000"),
      staleAfterMs: flags.staleAfterMs ?? (env.STALE_AFTER_MS || "30000"),
      fullReloadIntervalMs: flags.fullReloadIntervalMs ?? (env.FULL_RELOAD_INTERVAL_MS || "3600000"),
      adminToken: env.ACCOUNT_CONFIG_ADMIN_TOKEN || undefined,
    },
    {
      host: from("host", "HOST"),
      port: from("port", "PORT"),
      pollIntervalMs: from("pollIntervalMs", "POLL_INTERVAL_MS"),
      staleAfterMs: from("staleAfterMs", "STALE_AFTER_MS"),
      fullReloadIntervalMs: from("fullReloadIntervalMs", "FULL_RELOAD_INTERVAL_MS"),
      adminToken: "ACCOUNT_CONFIG_ADMIN_TOKEN",
    },
  );
  const url = accountConfigDatabaseUrl(env);
  const listen = flags.listen ?? switchValue("LISTEN", env.LISTEN, true);
  const visscoreCheck = flags.visscoreCheck ?? switchValue("VISSCORE_CHECK", env.VISSCORE_CHECK, true);
  return {
    ...parsed,
    listen,
    listenUrl: env.LISTEN_DATABASE_URL ? normalizeDatabaseUrl(env.LISTEN_DATABASE_URL) : url,
    visscoreCheck,
    visscoreQueueOwner: env.VISSCORE_QUEUE_OWNER || undefined,
    visscoreCheckRetryQueue: switchValue("VISSCORE_CHECK_RETRY_QUEUE", env.VISSCORE_CHECK_RETRY_QUEUE, false),
    apiToken: env.API_TOKEN || undefined,
    ...commonSettings(input, "account-config"),
    database: databaseSettings(input, { url, poolSize: POOL_SIZE }),
    ...(visscoreCheck ? { sqs: sqsSettings(env) } : {}),
  };
}

export type ServeSettings = ReturnType<typeof serveSettings>;

export interface DumpFlags {
  account: string | undefined;
  includeSecrets: boolean | undefined;
  compact: boolean | undefined;
}

export function dumpSettings(input: Input<DumpFlags>) {
  const { flags, env } = input;
  return {
    account: flags.account,
    includeSecrets: flags.includeSecrets === true,
    compact: flags.compact === true,
    ...commonSettings(input, "account-config"),
    database: databaseSettings(input, { url: accountConfigDatabaseUrl(env), poolSize: 1 }),
  };
}

export type DumpSettings = ReturnType<typeof dumpSettings>;

export function checkQueuesSettings(input: SettingsInput<typeof commonArgs & typeof databaseArgs>) {
  const { env } = input;
  return {
    visscoreQueueOwner: env.VISSCORE_QUEUE_OWNER || undefined,
    visscoreCheckRetryQueue: switchValue("VISSCORE_CHECK_RETRY_QUEUE", env.VISSCORE_CHECK_RETRY_QUEUE, false),
    ...commonSettings(input, "account-config"),
    database: databaseSettings(input, { url: accountConfigDatabaseUrl(env), poolSize: 1 }),
    sqs: sqsSettings(env),
  };
}

export type CheckQueuesSettings = ReturnType<typeof checkQueuesSettings>;
