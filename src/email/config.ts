// email-send's settings (spec/email.md §8): built-in defaults, then an optional JSON file named by
// FXA_EMAIL_CONFIG (same nested keys as the original's config/*.json), then the FXA_EMAIL_* variables
// (path segments joined by "_": FXA_EMAIL_AWS_KEYS_ACCESS → aws.keys.access; empty values ignored),
// then --host/--port. DATABASE_URL replaces the original's authdb.baseuri and Redis.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { intText, metricsSettings, type Env, type LoggingSettings, type MetricsSettings } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import { levelFromVerbosity, type LogLevelName } from "../core/logger.ts";
import * as validate from "./config-validators.ts";
import type { DeliveryProblemLimit, DeliveryProblemLimits } from "./delivery-problems.ts";
import { parseDuration } from "./duration.ts";
import { EmailError } from "./errors.ts";
import { PROVIDER_NAMES, type ProviderName, type Sender } from "./providers/provider.ts";

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

/** The registry's ProviderSettings, spelled out here so configuration does not depend on the adapters. */
export interface EmailProviderSettings {
  default: ProviderName;
  forceDefault: boolean;
  sender: Sender;
  ses: { region: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
  sendgrid?: { key: string; baseUrl?: string };
  socketlabs?: { serverId: number; key: string; baseUrl?: string };
  smtp: { host: string; port: number; credentials?: { user: string; password: string }; secure?: boolean; requireTls?: boolean };
  timeoutMs?: number;
}

export interface EmailSettings {
  env: Environment;
  host: string;
  port: number;
  /** Keys message data (HMAC-SHA256); never logged. */
  hmacKey: string;
  /** When set, /send needs `Authorization: Bearer <token>` and the /bounces routes exist. */
  authToken?: string;
  databaseUrl: string;
  limits: DeliveryProblemLimits;
  messageDataTtlMs: number;
  providers: EmailProviderSettings;
  aws: { region: string; keys?: { access: string; secret: string }; sqsUrls?: { bounce: string; complaint: string; delivery: string; notification: string } };
  logging: LoggingSettings & { silent: boolean };
  metrics: MetricsSettings;
  /** The settings as the startup line logs them: secrets replaced by "[hidden]". */
  masked: Record<string, unknown>;
  /** Variables that were set but are not used, with the reason (logged as warnings at start). */
  notices: string[];
}

export interface EmailFlags {
  host?: string;
  port?: string;
  verbosity: number;
  human_logs?: boolean;
  metric_host?: string;
  metric_port?: string;
}

const DEFAULT_LIMITS = [
  { period: "day", limit: 0 },
  { period: "year", limit: 1 },
];

const DEFAULTS = {
  env: "dev",
  host: "127.0.0.1",
  port: 8001,
  hmackey: PLACEHOLDER_HMAC_KEY,
  aws: { region: "us-west-2" },
  deliveryproblemlimits: { enabled: true, complaint: DEFAULT_LIMITS, hard: DEFAULT_LIMITS, soft: [{ period: "5 minutes", limit: 0 }] },
  log: { level: "normal", format: "mozlog" },
  provider: { default: "ses", forcedefault: false },
  sender: { address: "accounts@firefox.com", name: "Firefox Accounts" },
  smtp: { host: "127.0.0.1", port: 25 },
  messagedata: { ttl: "30 days" },
};

// Original settings we do not use, and why.
const RETIRED: Record<string, string> = {
  "authdb.baseuri": "DATABASE_URL replaces the auth db",
  "redis.host": "message data lives in PostgreSQL",
  "redis.port": "message data lives in PostgreSQL",
  "secretkey": "there are no cookies to sign",
  "sentry.dsn": "Sentry is not supported; errors are logged",
};

const KNOWN = new Set([
  "env", "host", "port", "hmackey", "auth.token", "log.level", "log.format",
  "aws.region", "aws.keys.access", "aws.keys.secret",
  "aws.sqsurls.bounce", "aws.sqsurls.complaint", "aws.sqsurls.delivery", "aws.sqsurls.notification",
  "deliveryproblemlimits.enabled", "provider.default", "provider.forcedefault", "provider.timeout",
  "sender.address", "sender.name", "sendgrid.key", "sendgrid.baseuri",
  "socketlabs.serverid", "socketlabs.key", "socketlabs.baseuri",
  "smtp.host", "smtp.port", "smtp.credentials.user", "smtp.credentials.password", "smtp.secure", "smtp.requiretls",
  "messagedata.ttl",
]);

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

const durationMs = byParser(parseDuration);
const limitList = z.array(z.object({ period: z.string(), limit: intText({ min: 0, max: 255 }) })).transform((items, ctx) => {
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
});
const host = matching("host", validate.host);
const port = intText({ min: 0, max: 65535 });
const sqsUrl = matching("SQS queue URL", validate.sqsUrl);
const baseUri = matching("base URI (http(s)://host[:port]/path/)", validate.baseUri);

const schema = z.object({
  env: byParser(parseEnvironment),
  host,
  port,
  hmackey: z.string().min(1),
  auth: z.object({ token: z.string().min(MIN_AUTH_TOKEN_LENGTH, `must be at least ${MIN_AUTH_TOKEN_LENGTH} characters`).optional() }).optional(),
  log: z.object({ level: byParser(parseLogLevel), format: byParser(parseLogFormat) }),
  aws: z.object({
    region: checked("AWS region", validate.awsRegion),
    keys: z.object({ access: matching("AWS access key", validate.awsAccessKey), secret: matching("AWS secret key", validate.awsSecretKey) }).optional(),
    sqsurls: z.object({ bounce: sqsUrl, complaint: sqsUrl, delivery: sqsUrl, notification: sqsUrl }).optional(),
  }),
  deliveryproblemlimits: z.object({ enabled: bool, complaint: limitList, hard: limitList, soft: limitList }),
  provider: z.object({ default: byParser(parseProviderName), forcedefault: bool, timeout: durationMs.optional() }),
  sender: z.object({ address: matching("email address", validate.emailAddress), name: matching("sender name", validate.senderName) }),
  sendgrid: z.object({ key: matching("Sendgrid API key", validate.sendgridApiKey), baseuri: baseUri.optional() }).optional(),
  socketlabs: z.object({ serverid: intText({ min: 0, max: 65535 }), key: z.string().min(1), baseuri: baseUri.optional() }).optional(),
  smtp: z.object({
    host,
    port,
    credentials: z.object({ user: z.string(), password: z.string() }).optional(),
    secure: bool.optional(),
    requiretls: bool.optional(),
  }),
  messagedata: z.object({ ttl: durationMs }),
});

// ---- sources --------------------------------------------------------------------------------------

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === "object" && v !== null && !Array.isArray(v);

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path.at(-1)!] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  return out;
}

function hasPath(tree: Tree, path: readonly PropertyKey[]): boolean {
  let node: unknown = tree;
  for (const key of path) {
    if (typeof node !== "object" || node === null || !(String(key) in node)) return false;
    node = (node as Tree)[String(key)];
  }
  return true;
}

const envName = (path: readonly PropertyKey[]) => `FXA_EMAIL_${path.map(String).join("_").toUpperCase()}`;

function readConfigFile(file: string, read: (file: string) => string): Tree {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    throw new UsageError(`FXA_EMAIL_CONFIG: cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`FXA_EMAIL_CONFIG: ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isTree(parsed)) throw new UsageError(`FXA_EMAIL_CONFIG: ${file} must contain a JSON object`);
  return parsed;
}

/** DATABASE_URL, required by the service and by `migrate`. */
export function emailDatabaseUrl(env: Env): string {
  const url = env.DATABASE_URL;
  if (!url) throw new UsageError("DATABASE_URL must be set (PostgreSQL; it replaces FXA_EMAIL_AUTHDB_BASEURI and Redis)");
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`DATABASE_URL: only PostgreSQL URLs are supported (got scheme ${url.split(":")[0]})`);
  return url;
}

/** Loads and validates everything; a bad value is a UsageError naming the variable (exit 2). */
export function emailSettings(flags: EmailFlags, env: Env, read: (file: string) => string = (f) => readFileSync(f, "utf8")): EmailSettings {
  const fromEnv: Tree = {};
  const envPaths = new Set<string>();
  const notices: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("FXA_EMAIL_") || name === "FXA_EMAIL_CONFIG" || !value) continue; // empty values are ignored, as in the original
    const path = name.slice("FXA_EMAIL_".length).toLowerCase().split("_");
    const dotted = path.join(".");
    if (RETIRED[dotted]) notices.push(`${name} is ignored: ${RETIRED[dotted]}`);
    else if (!KNOWN.has(dotted)) notices.push(`${name} is not a setting of email-send; ignored`);
    else {
      setPath(fromEnv, path, value);
      envPaths.add(dotted);
    }
  }
  const configFile = env.FXA_EMAIL_CONFIG || undefined;
  const fromFile = configFile ? readConfigFile(configFile, read) : {};
  const tree = merge(merge(DEFAULTS, fromFile), fromEnv);
  const flagLabels: Record<string, string> = {};
  if (flags.host !== undefined) {
    tree.host = flags.host;
    flagLabels.host = "--host";
  }
  if (flags.port !== undefined) {
    tree.port = flags.port;
    flagLabels.port = "--port";
  }

  const result = schema.safeParse(tree);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const dotted = issue.path.map(String).join(".");
      const inFile = configFile !== undefined && !envPaths.has(dotted) && hasPath(fromFile, issue.path);
      const label = flagLabels[dotted] ?? (inFile ? `${dotted} (in ${configFile})` : envName(issue.path));
      return `${label}: ${issue.message}`;
    });
    throw new UsageError(problems.join("; "));
  }
  const s = result.data;
  if (s.env === "production" && s.hmackey === PLACEHOLDER_HMAC_KEY) throw new UsageError("FXA_EMAIL_HMACKEY: Please set a valid HMAC key (the placeholder is refused in production)");

  const databaseUrl = emailDatabaseUrl(env);
  const limits: DeliveryProblemLimits = { enabled: s.deliveryproblemlimits.enabled, complaint: s.deliveryproblemlimits.complaint, hard: s.deliveryproblemlimits.hard, soft: s.deliveryproblemlimits.soft };
  const providers: EmailProviderSettings = {
    default: s.provider.default,
    forceDefault: s.provider.forcedefault,
    sender: { address: s.sender.address, name: s.sender.name },
    ses: {
      region: s.aws.region,
      ...(env.AWS_ENDPOINT_URL_SES ? { endpoint: env.AWS_ENDPOINT_URL_SES } : {}),
      ...(s.aws.keys ? { credentials: { accessKeyId: s.aws.keys.access, secretAccessKey: s.aws.keys.secret } } : {}),
    },
    ...(s.sendgrid ? { sendgrid: { key: s.sendgrid.key, ...(s.sendgrid.baseuri ? { baseUrl: s.sendgrid.baseuri } : {}) } } : {}),
    ...(s.socketlabs ? { socketlabs: { serverId: s.socketlabs.serverid, key: s.socketlabs.key, ...(s.socketlabs.baseuri ? { baseUrl: s.socketlabs.baseuri } : {}) } } : {}),
    smtp: {
      host: s.smtp.host,
      port: s.smtp.port,
      ...(s.smtp.credentials ? { credentials: s.smtp.credentials } : {}),
      ...(s.smtp.secure !== undefined ? { secure: s.smtp.secure } : {}),
      ...(s.smtp.requiretls !== undefined ? { requireTls: s.smtp.requiretls } : {}),
    },
    ...(s.provider.timeout !== undefined ? { timeoutMs: s.provider.timeout } : {}),
  };
  const hidden = (value: unknown) => (value === undefined ? "[not set]" : "[hidden]");
  const masked: Record<string, unknown> = {
    env: s.env,
    host: s.host,
    port: s.port,
    hmackey: "[hidden]",
    auth: { token: hidden(s.auth?.token) },
    database: maskUrl(databaseUrl),
    log: s.log,
    aws: { region: s.aws.region, keys: hidden(s.aws.keys), sqsurls: s.aws.sqsurls ?? "[not set]" },
    deliveryproblemlimits: {
      enabled: s.deliveryproblemlimits.enabled,
      complaint: limits.complaint.map(({ period, limit }) => ({ period, limit })),
      hard: limits.hard.map(({ period, limit }) => ({ period, limit })),
      soft: limits.soft.map(({ period, limit }) => ({ period, limit })),
    },
    provider: { default: s.provider.default, forcedefault: s.provider.forcedefault, timeout: (tree.provider as Tree).timeout ?? "[not set]" },
    sender: s.sender,
    sendgrid: hidden(s.sendgrid),
    socketlabs: hidden(s.socketlabs),
    smtp: { host: s.smtp.host, port: s.smtp.port, credentials: s.smtp.credentials ? { user: s.smtp.credentials.user, password: "[hidden]" } : "[not set]" },
    messagedata: { ttl: (tree.messagedata as Tree).ttl },
    config: configFile ?? "[not set]",
  };
  return {
    env: s.env,
    host: s.host,
    port: s.port,
    hmacKey: s.hmackey,
    ...(s.auth?.token ? { authToken: s.auth.token } : {}),
    databaseUrl,
    limits,
    messageDataTtlMs: s.messagedata.ttl,
    providers,
    aws: { region: s.aws.region, ...(s.aws.keys ? { keys: s.aws.keys } : {}), ...(s.aws.sqsurls ? { sqsUrls: s.aws.sqsurls } : {}) },
    logging: emailLogging(flags, env, s.log.level, s.log.format),
    metrics: metricsSettings({ metricHost: flags.metric_host, metricPort: flags.metric_port }, env, "email"),
    masked,
    notices,
  };
}

const FXA_LEVEL: Record<Exclude<EmailLogLevel, "off">, LogLevelName> = { normal: "info", debug: "debug", critical: "error" };
const COMMON_LEVELS = new Set(["error", "warn", "info", "debug"]);

/** -v/-vv, then LOG_LEVEL, then FXA_EMAIL_LOG_LEVEL (normal → info); --human_logs, then LOG_FORMAT, then FXA_EMAIL_LOG_FORMAT. */
function emailLogging(flags: EmailFlags, env: Env, level: EmailLogLevel, format: EmailLogFormat): LoggingSettings & { silent: boolean } {
  const common = env.LOG_LEVEL?.toLowerCase() || undefined;
  if (common && !COMMON_LEVELS.has(common)) throw new UsageError(`LOG_LEVEL: expected one of error, warn, info, debug (got ${env.LOG_LEVEL})`);
  const commonFormat = env.LOG_FORMAT?.toLowerCase() || undefined;
  if (commonFormat && commonFormat !== "json" && commonFormat !== "pretty") throw new UsageError(`LOG_FORMAT: expected json or pretty (got ${env.LOG_FORMAT})`);
  const explicit = flags.verbosity > 0 || common !== undefined;
  return {
    level: explicit ? levelFromVerbosity(flags.verbosity, flags.verbosity > 0 ? undefined : (common as LogLevelName)) : level === "off" ? "error" : FXA_LEVEL[level],
    format: flags.human_logs ? "pretty" : ((commonFormat as "json" | "pretty" | undefined) ?? (format === "pretty" ? "pretty" : "json")),
    silent: !explicit && level === "off",
  };
}

function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = "";
    return parsed.toString().replace(`//${parsed.username}@`, `//${parsed.username}:[hidden]@`);
  } catch {
    return "[hidden]"; // not a URL we can take apart: hide all of it rather than risk a password
  }
}
