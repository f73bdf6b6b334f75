// email-send's settings (spec/email.md §8): the layered sources of ./config-sources.ts (defaults,
// config/<env>.json, config/local.json, FXA_EMAIL_CONFIG, FXA_EMAIL_* variables, then --host/--port),
// turned into what the service's parts take. DATABASE_URL replaces the original's authdb.baseuri and Redis.
import { commonLogging, metricsSettings, type Env, type LoggingSettings, type MetricsSettings } from "../core/config.ts";
import { levelFromVerbosity, type LogLevelName } from "../core/logger.ts";
import { databaseUrlFrom } from "../db/database-url.ts";
import type { EmailLogFormat, EmailLogLevel, Environment } from "./config-schema.ts";
import { readEmailConfig, type EmailConfigOptions } from "./config-sources.ts";
import type { DeliveryProblemLimits } from "./delivery-problems.ts";
import type { ProviderName, Sender } from "./providers/provider.ts";
import type { commonArgs, SettingsInput } from "../runtime/tool-spec.ts";

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
  /** The settings as the startup line logs them: secrets replaced by "[hidden]", the files read in `files`. */
  masked: Record<string, unknown>;
  /** Variables and file keys that were given but are not used, with the reason (logged as warnings at start). */
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

export type EmailSettingsOptions = Pick<EmailConfigOptions, "cwd" | "readFile" | "exists">;

/** The flags the email settings read, from the runtime's command line (host and port where the tool has them). */
export function emailFlagsFrom(input: SettingsInput<typeof commonArgs> & { flags: { host?: string | undefined; port?: string | undefined } }): EmailFlags {
  const { flags } = input;
  return { host: flags.host, port: flags.port, verbosity: input.verbosity, human_logs: flags.humanLogs, metric_host: flags.metricHost, metric_port: flags.metricPort };
}

/** DATABASE_URL, required by the service and by `migrate`. */
export function emailDatabaseUrl(env: Env): string {
  return databaseUrlFrom(env, ["DATABASE_URL"], "PostgreSQL; it replaces FXA_EMAIL_AUTHDB_BASEURI and Redis");
}

/** Loads and validates everything; a bad value is a UsageError naming where it came from (exit 2). */
export function emailSettings(flags: EmailFlags, env: Env, options: EmailSettingsOptions = {}): EmailSettings {
  const commandLine = [
    ...(flags.host !== undefined ? [{ path: "host", value: flags.host, flag: "--host" }] : []),
    ...(flags.port !== undefined ? [{ path: "port", value: flags.port, flag: "--port" }] : []),
  ];
  const config = readEmailConfig(env, { ...options, commandLine });
  const s = config.values;
  const databaseUrl = emailDatabaseUrl(env);
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
  return {
    env: s.env,
    host: s.host,
    port: s.port,
    hmacKey: s.hmackey,
    ...(s.auth.token ? { authToken: s.auth.token } : {}),
    databaseUrl,
    limits: { ...s.deliveryproblemlimits },
    messageDataTtlMs: s.messagedata.ttl,
    providers,
    aws: { region: s.aws.region, ...(s.aws.keys ? { keys: s.aws.keys } : {}), ...(s.aws.sqsurls ? { sqsUrls: s.aws.sqsurls } : {}) },
    logging: emailLogging(flags, env, s.log.level, s.log.format),
    metrics: metricsSettings({ metricHost: flags.metric_host, metricPort: flags.metric_port }, env, "email"),
    masked: { ...config.masked, database: maskUrl(databaseUrl) },
    notices: config.notices,
  };
}

const FXA_LEVEL: Record<Exclude<EmailLogLevel, "off">, LogLevelName> = { normal: "info", debug: "debug", critical: "error" };

/** -v/-vv, then LOG_LEVEL, then FXA_EMAIL_LOG_LEVEL (normal → info); --human_logs, then LOG_FORMAT, then FXA_EMAIL_LOG_FORMAT. */
function emailLogging(flags: EmailFlags, env: Env, level: EmailLogLevel, format: EmailLogFormat): LoggingSettings & { silent: boolean } {
  const common = commonLogging(env);
  const explicit = flags.verbosity > 0 || common.level !== undefined;
  return {
    level: flags.verbosity > 0 ? levelFromVerbosity(flags.verbosity) : (common.level ?? (level === "off" ? "error" : FXA_LEVEL[level])),
    format: flags.human_logs ? "pretty" : (common.format ?? (format === "pretty" ? "pretty" : "json")),
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
