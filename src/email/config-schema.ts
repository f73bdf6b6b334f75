// The email service's settings as the original's config files spell them (spec/email.md §8.2): the
// nested keys, how each value is checked, the built-in defaults that stand in for config/default.json,
// and the original's keys we retire. Known keys and the startup line's masking are derived from this
// schema (./config-shape.ts), so a key is declared here and nowhere else.
import { z } from "zod";
import { intText } from "../core/config.ts";
import * as validate from "./config-validators.ts";
import { asWritten, secret } from "./config-shape.ts";
import type { DeliveryProblemLimit } from "./delivery-problems.ts";
import { parseDuration } from "./duration.ts";
import { EmailError } from "./errors.ts";
import { PROVIDER_NAMES, type ProviderName } from "./providers/provider.ts";

export const ENVIRONMENTS = ["dev", "production", "test"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const LOG_LEVELS = ["normal", "debug", "critical", "off"] as const;
export type EmailLogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["mozlog", "pretty"] as const;
export type EmailLogFormat = (typeof LOG_FORMATS)[number];

const oneOf = <T extends string>(list: readonly T[], value: string): value is T => (list as readonly string[]).includes(value);

export function parseEnvironment(value: string): Environment {
  if (oneOf(ENVIRONMENTS, value)) return value;
  throw new EmailError("InvalidEnv", value);
}
export function parseLogLevel(value: string): EmailLogLevel {
  if (oneOf(LOG_LEVELS, value)) return value;
  throw new EmailError("InvalidLogLevel", value);
}
export function parseLogFormat(value: string): EmailLogFormat {
  if (oneOf(LOG_FORMATS, value)) return value;
  throw new EmailError("InvalidLogFormat", value);
}
export function parseProviderName(value: string): ProviderName {
  if (oneOf(PROVIDER_NAMES, value)) return value;
  throw new EmailError("InvalidPayload", value);
}

export const PLACEHOLDER_HMAC_KEY = "YOU MUST CHANGE ME";
/** Bearer tokens shorter than this are refused: they are guessable. */
export const MIN_AUTH_TOKEN_LENGTH = 16;

// ---- value schemas --------------------------------------------------------------------------------

const checked = <T>(what: string, parse: (value: string) => T | undefined) =>
  z.string().transform((value, ctx) => {
    const result = parse(value);
    if (result === undefined) {
      ctx.addIssue({ code: "custom", message: `invalid ${what}: ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return result;
  });

const matching = (what: string, test: (value: string) => boolean) => checked(what, (v) => (test(v) ? v : undefined));

/** Parsed by a function that throws EmailError (whose message is the original's). */
const byParser = <T>(parse: (value: string) => T) =>
  z.string().transform((value, ctx) => {
    try {
      return parse(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);
const bool = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === "boolean") return value;
  const t = value.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  ctx.addIssue({ code: "custom", message: `invalid type: expected a boolean, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

const durationMs = asWritten(byParser(parseDuration));
const limitList = asWritten(
  z.array(z.object({ period: z.string(), limit: intText({ min: 0, max: 255 }) })).transform((items, ctx) => {
    const out: DeliveryProblemLimit[] = [];
    for (const [i, item] of items.entries()) {
      try {
        out.push({ period: item.period, periodMs: parseDuration(item.period), limit: item.limit });
      } catch (error) {
        ctx.addIssue({ code: "custom", path: [i, "period"], message: (error as Error).message });
        return z.NEVER;
      }
    }
    return out;
  }),
);
const host = matching("host", validate.host);
const port = intText({ min: 0, max: 65535 });
const sqsUrl = matching("SQS queue URL", validate.sqsUrl);
const baseUri = matching("base URI (http(s)://host[:port]/path/)", validate.baseUri);

export const environmentSchema = byParser(parseEnvironment);

export const emailConfigSchema = z.object({
  env: environmentSchema,
  host,
  port,
  hmackey: secret(z.string().min(1)),
  auth: z.object({ token: secret(z.string().min(MIN_AUTH_TOKEN_LENGTH, `must be at least ${MIN_AUTH_TOKEN_LENGTH} characters`).optional()) }),
  log: z.object({ level: byParser(parseLogLevel), format: byParser(parseLogFormat) }),
  aws: z.object({
    region: checked("AWS region", validate.awsRegion),
    keys: secret(z.object({ access: matching("AWS access key", validate.awsAccessKey), secret: matching("AWS secret key", validate.awsSecretKey) }).optional()),
    sqsurls: z.object({ bounce: sqsUrl, complaint: sqsUrl, delivery: sqsUrl, notification: sqsUrl }).optional(),
  }),
  deliveryproblemlimits: z.object({ enabled: bool, complaint: limitList, hard: limitList, soft: limitList }),
  provider: z.object({ default: byParser(parseProviderName), forcedefault: bool, timeout: durationMs.optional() }),
  sender: z.object({ address: matching("email address", validate.emailAddress), name: matching("sender name", validate.senderName) }),
  sendgrid: secret(z.object({ key: matching("Sendgrid API key", validate.sendgridApiKey), baseuri: baseUri.optional() }).optional()),
  socketlabs: secret(z.object({ serverid: intText({ min: 0, max: 65535 }), key: z.string().min(1), baseuri: baseUri.optional() }).optional()),
  smtp: z.object({
    host,
    port,
    credentials: z.object({ user: z.string(), password: secret(z.string()) }).optional(),
    secure: bool.optional(),
    requiretls: bool.optional(),
  }),
  messagedata: z.object({ ttl: durationMs }),
});
export type EmailConfigValues = z.output<typeof emailConfigSchema>;

const DEFAULT_LIMITS = [
  { period: "day", limit: 0 },
  { period: "year", limit: 1 },
];

/** The original's config/default.json, as far as we use it (spec/email.md §8.2). */
export const EMAIL_CONFIG_DEFAULTS = {
  env: "dev",
  host: "127.0.0.1",
  port: 8001,
  hmackey: PLACEHOLDER_HMAC_KEY,
  auth: {},
  aws: { region: "us-west-2" },
  deliveryproblemlimits: { enabled: true, complaint: DEFAULT_LIMITS, hard: DEFAULT_LIMITS, soft: [{ period: "5 minutes", limit: 0 }] },
  log: { level: "normal", format: "mozlog" },
  provider: { default: "ses", forcedefault: false },
  sender: { address: "accounts@firefox.com", name: "Firefox Accounts" },
  smtp: { host: "127.0.0.1", port: 25 },
  messagedata: { ttl: "30 days" },
} satisfies z.input<typeof emailConfigSchema>;

/** The original's settings we do not use, and why. */
export const RETIRED_KEYS: Readonly<Record<string, string>> = {
  "authdb.baseuri": "DATABASE_URL replaces the auth db",
  "redis.host": "message data lives in PostgreSQL",
  "redis.port": "message data lives in PostgreSQL",
  "secretkey": "there are no cookies to sign",
  "sentry.dsn": "Sentry is not supported; errors are logged",
};
