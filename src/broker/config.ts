// Settings of `event-broker` and its admin commands, from their flags and the environment. The
// environment keeps the original's names (spec/event-broker.md §6); flags override it. Defaults of pure
// flags live in cmd/event-broker.ts; defaults of settings that an env var can give are applied here.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { intText, parseSettings, type Env } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import type { commonArgs, databaseArgs, SettingsInput } from "../runtime/tool-spec.ts";
import { commonSettings, databaseSettings } from "../runtime/tool-settings.ts";
import { databaseUrlFrom } from "../db/database-url.ts";
import { loadSigningKey, type SigningKey } from "./set.ts";

/** StatsD prefix, the original's METRIC_PREFIX without its trailing dot. */
export const METRICS_PREFIX = "fxa-event-broker";
/** Admin bearer tokens shorter than this are refused: they are guessable. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

export const brokerDatabaseUrl = (env: Env) => databaseUrlFrom(env, ["DATABASE_URL"], "PostgreSQL holds the broker's clients, logins and deliveries");

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off", ""]);
const boolText = z.string().transform((value, ctx) => {
  const t = value.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  ctx.addIssue({ code: "custom", message: `expected true or false, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

/** A flag given wins; else the variable; else the default. */
const pick = (flag: string | boolean | undefined, env: string | undefined, fallback: string) =>
  flag === true ? "true" : flag !== undefined && flag !== false ? flag : env !== undefined && env !== "" ? env : fallback;

/** OPENID_KEY (a private JWK as JSON) or OPENID_KEYFILE (a file holding one). */
export async function signingKeyFrom(env: Env): Promise<SigningKey> {
  const [name, text] = env.OPENID_KEY
    ? ["OPENID_KEY", env.OPENID_KEY]
    : env.OPENID_KEYFILE
      ? ["OPENID_KEYFILE", readKeyFile(env.OPENID_KEYFILE)]
      : [undefined, undefined];
  if (!name) throw new UsageError("OPENID_KEY (or OPENID_KEYFILE) must be set: the private RSA JWK that signs SETs");
  try {
    return await loadSigningKey(JSON.parse(text!));
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`OPENID_KEYFILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export interface ServeFlags {
  host: string | undefined;
  port: string | undefined;
  queue: string | undefined;
  queueConcurrency: string;
  queueWaitTime: string;
  deliveryConcurrency: string;
  deliveryTimeout: string;
  deliveryMaxAge: string | undefined;
  disableQueueWorker: boolean | undefined;
  disableDelivery: boolean | undefined;
  disableHttp: boolean | undefined;
  allowInsecureWebhooks: boolean | undefined;
}

type ServeInput = SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: ServeFlags };

export async function serveSettings(input: ServeInput) {
  const { flags, env, label } = input;
  if (input.extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(input.extra[0])}: commands are serve, clients set|list|remove, deliveries list|retry, stats, migrate`);
  const parsed = parseSettings(
    z.object({
      host: z.string().min(1),
      port: intText({ min: 0, max: 65535 }),
      queueConcurrency: intText({ min: 1, max: 1000 }),
      queueWaitTime: intText({ min: 0, max: 20 }),
      deliveryConcurrency: intText({ min: 1, max: 10_000 }),
      deliveryTimeout: intText({ min: 1, max: 600 }),
      deliveryMaxAge: intText({ min: 1, max: 365 * 86_400 }),
      deliveryRetention: intText({ min: 60, max: 10 * 365 * 86_400 }),
      deadDeliveryRetention: intText({ min: 60, max: 10 * 365 * 86_400 }),
      disableQueueWorker: boolText,
      disableDelivery: boolText,
      disableHttp: boolText,
      allowInsecureWebhooks: boolText,
      pubsubAuthenticate: boolText,
      capabilityRefresh: intText({ min: 1, max: 86_400 }),
      capabilityFailOnStart: boolText,
      capabilityUrl: z.url({ protocol: /^https?$/ }).optional(),
      adminToken: z.string().min(MIN_ADMIN_TOKEN_LENGTH, `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`).optional(),
    }),
    {
      host: pick(flags.host, env.PUBSUB_PROXY_HOST, "0.0.0.0"),
      port: pick(flags.port, env.PUBSUB_PROXY_PORT, "8090"),
      queueConcurrency: flags.queueConcurrency,
      queueWaitTime: flags.queueWaitTime,
      deliveryConcurrency: flags.deliveryConcurrency,
      deliveryTimeout: flags.deliveryTimeout,
      deliveryMaxAge: pick(flags.deliveryMaxAge, env.DELIVERY_MAX_AGE, String(7 * 86_400)),
      deliveryRetention: pick(undefined, env.DELIVERY_RETENTION, String(30 * 86_400)),
      deadDeliveryRetention: pick(undefined, env.DEAD_DELIVERY_RETENTION, String(90 * 86_400)),
      disableQueueWorker: pick(flags.disableQueueWorker, env.DISABLE_QUEUE_WORKER, "false"),
      disableDelivery: pick(flags.disableDelivery, env.DISABLE_DELIVERY, "false"),
      disableHttp: pick(flags.disableHttp, env.DISABLE_HTTP, "false"),
      allowInsecureWebhooks: pick(flags.allowInsecureWebhooks, undefined, "false"),
      pubsubAuthenticate: pick(undefined, env.PUBSUB_AUTHENTICATE, "true"),
      capabilityRefresh: pick(undefined, env.CAPABILITY_REFRESH_INTERVAL, "300"),
      capabilityFailOnStart: pick(undefined, env.CAPABILITY_FAIL_ON_START, "true"),
      capabilityUrl: env.CAPABILITY_URL || undefined,
      adminToken: env.BROKER_ADMIN_TOKEN || undefined,
    },
    {
      host: flags.host ? label("host") : "PUBSUB_PROXY_HOST",
      port: flags.port ? label("port") : "PUBSUB_PROXY_PORT",
      queueConcurrency: label("queueConcurrency"),
      queueWaitTime: label("queueWaitTime"),
      deliveryConcurrency: label("deliveryConcurrency"),
      deliveryTimeout: label("deliveryTimeout"),
      deliveryMaxAge: flags.deliveryMaxAge ? label("deliveryMaxAge") : "DELIVERY_MAX_AGE",
      deliveryRetention: "DELIVERY_RETENTION",
      deadDeliveryRetention: "DEAD_DELIVERY_RETENTION",
      disableQueueWorker: "DISABLE_QUEUE_WORKER",
      disableDelivery: "DISABLE_DELIVERY",
      disableHttp: "DISABLE_HTTP",
      allowInsecureWebhooks: label("allowInsecureWebhooks"),
      pubsubAuthenticate: "PUBSUB_AUTHENTICATE",
      capabilityRefresh: "CAPABILITY_REFRESH_INTERVAL",
      capabilityFailOnStart: "CAPABILITY_FAIL_ON_START",
      capabilityUrl: "CAPABILITY_URL",
      adminToken: "BROKER_ADMIN_TOKEN",
    },
  );
  const queue = flags.queue || env.SERVICE_NOTIFICATION_QUEUE_URL || undefined;
  const consume = !parsed.disableQueueWorker;
  if (consume && !queue) throw new UsageError("SERVICE_NOTIFICATION_QUEUE_URL (or --queue) must be set, or the queue worker disabled (DISABLE_QUEUE_WORKER=true)");
  const issuer = env.OPENID_ISSUER || undefined;
  if (!issuer) throw new UsageError("OPENID_ISSUER must be set: the iss of every SET (https://accounts.firefox.com in production)");
  const key = await signingKeyFrom(env);
  if (parsed.pubsubAuthenticate && !env.PUBSUB_VERIFICATION_TOKEN && !parsed.disableHttp) {
    throw new UsageError("PUBSUB_VERIFICATION_TOKEN must be set while PUBSUB_AUTHENTICATE is true (or set PUBSUB_AUTHENTICATE=false)");
  }
  const region = env.AWS_REGION || undefined;
  return {
    http: parsed.disableHttp ? undefined : { host: parsed.host, port: parsed.port, adminToken: parsed.adminToken },
    queue: consume ? { url: queue!, concurrency: parsed.queueConcurrency, waitTimeSeconds: parsed.queueWaitTime } : undefined,
    delivery: parsed.disableDelivery
      ? undefined
      : {
          concurrency: parsed.deliveryConcurrency,
          timeoutMs: parsed.deliveryTimeout * 1000,
          maxAgeMs: parsed.deliveryMaxAge * 1000,
          retention: { finishedMs: parsed.deliveryRetention * 1000, deadMs: parsed.deadDeliveryRetention * 1000 },
        },
    allowInsecureWebhooks: parsed.allowInsecureWebhooks,
    deliveryTimeoutMs: parsed.deliveryTimeout * 1000,
    signing: { issuer, key },
    pubsub: { authenticate: parsed.pubsubAuthenticate, verificationToken: env.PUBSUB_VERIFICATION_TOKEN || undefined },
    capabilities: {
      url: parsed.capabilityUrl,
      authToken: env.CAPABILITY_AUTH_TOKEN || undefined,
      refreshMs: parsed.capabilityRefresh * 1000,
      failOnStart: parsed.capabilityFailOnStart,
    },
    ...commonSettings(input, METRICS_PREFIX),
    database: databaseSettings(input, { url: brokerDatabaseUrl(env), poolSize: Math.max(4, Math.ceil(parsed.queueConcurrency / 4) + 2) }),
    ...(consume ? { sqs: { region, endpoint: env.AWS_ENDPOINT_URL_SQS || undefined } } : {}),
  };
}

export type ServeSettings = Awaited<ReturnType<typeof serveSettings>>;

/** The admin commands: the database and, for `clients set`, whether http loopback webhooks are allowed. */
export function adminSettings(input: SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: { allowInsecureWebhooks?: boolean } }) {
  return {
    allowInsecureWebhooks: Boolean(input.flags.allowInsecureWebhooks),
    flags: input.flags as Record<string, unknown>,
    ...commonSettings(input, METRICS_PREFIX),
    database: databaseSettings(input, { url: brokerDatabaseUrl(input.env), poolSize: 1 }),
  };
}

export type AdminSettings = ReturnType<typeof adminSettings>;
