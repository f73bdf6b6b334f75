// email-queues' settings: email-send's (database, HMAC key, environment, logging, metrics; see
// config.ts) plus the queues, the webhook secrets and the tool's flags.
//
// Queue URLs: FXA_EMAIL_AWS_SQSURLS_{BOUNCE,COMPLAINT,DELIVERY,NOTIFICATION} from the environment, else
// aws.sqsurls from the settings file. Unlike email-send's check, any of them may be left out (at least one
// source is needed; without NOTIFICATION nothing is forwarded), they may name the same queue, and besides
// the original's https://sqs.<region>.amazonaws.com/<account>/<name> an emulator's or VPC endpoint's URL is
// accepted when AWS_ENDPOINT_URL_SQS is set or the host is loopback. These variables are taken out of
// the environment before email-send's loader sees it, so its stricter rule does not refuse them.
import { z } from "zod";
import { intText, parseSettings, type Env, type LoggingSettings, type MetricsSettings } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import type { commonArgs, databaseArgs, SettingsInput } from "../runtime/tool-spec.ts";
import { databaseSettings } from "../runtime/tool-settings.ts";
import { MIN_AUTH_TOKEN_LENGTH } from "./config-schema.ts";
import { emailFlagsFrom, emailSettings, type EmailSettings } from "./config.ts";
import * as validate from "./config-validators.ts";

export const SOURCE_KINDS = ["bounce", "complaint", "delivery"] as const;
type QueueKind = (typeof SOURCE_KINDS)[number] | "notification";

export interface SqsSettings {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

interface CommonSettings {
  email: EmailSettings;
  databaseUrl: string;
  hmacKey: string;
  queues: Partial<Record<QueueKind, string>>;
  notificationQueue?: string;
  wrapOutgoing: boolean;
  sqs: SqsSettings;
  logging: LoggingSettings & { silent: boolean };
  metrics: MetricsSettings;
  /** Warnings to log at start (unused variables, a missing notification queue). */
  notices: string[];
}

export interface QueuesSettings extends CommonSettings {
  /** The distinct source queue URLs, in bounce, complaint, delivery order. */
  sources: string[];
  deadLetterQueue?: string;
  queueWaitTime: number;
  concurrency: number;
  drain: boolean;
  dbPoolSize: number;
}

export interface WebhookSecrets {
  sendgrid?: { auth: string };
  socketlabs?: { auth: string; secretKey: string; validationKey: string };
}

export interface EventsSettings extends CommonSettings {
  host: string;
  port: number;
  webhooks: WebhookSecrets;
}

export interface QueuesFlags {
  queue_wait_time?: string;
  concurrency?: string;
  drain?: boolean;
  dead_letter_queue?: string;
  wrap_outgoing?: boolean;
  verbosity: number;
  human_logs?: boolean;
  metric_host?: string;
  metric_port?: string;
}

export interface EventsFlags {
  host?: string;
  port?: string;
  wrap_outgoing?: boolean;
  verbosity: number;
  human_logs?: boolean;
  metric_host?: string;
  metric_port?: string;
}

const QUEUE_VARIABLE = /^FXA_EMAIL_AWS_SQSURLS_/;
const EVENTS_VARIABLE = /^FXA_EMAIL_EVENTS_/;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The original's SQS URL rule; or, with AWS_ENDPOINT_URL_SQS set (an emulator, a VPC endpoint), any
 * http(s) queue URL, since the SDK sends to the endpoint and the URL only names the queue; or an http(s)
 * URL on a loopback host.
 */
export function isQueueUrl(value: string, endpoint: string | undefined): boolean {
  if (validate.sqsUrl(value)) return true;
  // Not WHATWG URL parsing: emulators name hosts like sqs.us-east-1.127.0.0.1, which it refuses.
  const match = /^https?:\/\/([^/?#\s@]+)\/[^?#\s]+$/.exec(value);
  if (!match) return false;
  const host = match[1]!.replace(/:[0-9]+$/, "");
  return endpoint !== undefined || LOOPBACK.has(host);
}

function queueUrl(label: string, value: string, endpoint: string | undefined): string {
  if (!isQueueUrl(value, endpoint)) {
    throw new UsageError(`${label}: invalid SQS queue URL: ${JSON.stringify(value)} (expected https://sqs.<region>.amazonaws.com/<account>/<queue>; other URLs need AWS_ENDPOINT_URL_SQS)`);
  }
  return value;
}

/** Where the queue lives, for signing: the region in an AWS queue URL. */
function regionOf(url: string | undefined): string | undefined {
  return url ? /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\//.exec(url)?.[1] : undefined;
}

function common(flags: { wrap_outgoing?: boolean; verbosity: number; human_logs?: boolean; metric_host?: string; metric_port?: string; host?: string; port?: string }, env: Env) {
  const emailEnv: Env = {};
  for (const [name, value] of Object.entries(env)) if (!QUEUE_VARIABLE.test(name) && !EVENTS_VARIABLE.test(name)) emailEnv[name] = value;
  const email = emailSettings(
    { host: flags.host, port: flags.port, verbosity: flags.verbosity, human_logs: flags.human_logs, metric_host: flags.metric_host, metric_port: flags.metric_port },
    emailEnv,
  );
  const endpoint = env.AWS_ENDPOINT_URL_SQS || undefined;
  const queues: Partial<Record<QueueKind, string>> = {};
  for (const kind of [...SOURCE_KINDS, "notification"] as const) {
    const variable = `FXA_EMAIL_AWS_SQSURLS_${kind.toUpperCase()}`;
    const value = env[variable] || email.aws.sqsUrls?.[kind];
    if (value) queues[kind] = queueUrl(variable, value, endpoint);
  }
  const notices = [...email.notices];
  for (const name of Object.keys(env)) {
    if (QUEUE_VARIABLE.test(name) && !SOURCE_KINDS.some((k) => name === `FXA_EMAIL_AWS_SQSURLS_${k.toUpperCase()}`) && name !== "FXA_EMAIL_AWS_SQSURLS_NOTIFICATION") {
      notices.push(`${name} is not a setting of email-queues; ignored`);
    }
  }
  const region = regionOf(queues.notification ?? queues.bounce ?? queues.complaint ?? queues.delivery) ?? email.aws.region;
  const sqs: SqsSettings = {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(email.aws.keys ? { credentials: { accessKeyId: email.aws.keys.access, secretAccessKey: email.aws.keys.secret } } : {}),
  };
  if (!queues.notification) notices.push("FXA_EMAIL_AWS_SQSURLS_NOTIFICATION is not set: notifications are recorded but not forwarded");
  return {
    email,
    databaseUrl: email.databaseUrl,
    hmacKey: email.hmacKey,
    queues,
    ...(queues.notification ? { notificationQueue: queues.notification } : {}),
    wrapOutgoing: Boolean(flags.wrap_outgoing),
    sqs,
    logging: email.logging,
    metrics: email.metrics,
    notices,
  };
}

/**
 * Notifications handled at once per source queue. Handlers mostly wait on PostgreSQL and SQS, and the
 * notifications in flight share one statement and full SendMessageBatch calls, so more in flight costs
 * less CPU each: 8 left the process waiting (34-37% of a raw receive+delete's rate), 32 keeps it busy.
 */
export const DEFAULT_QUEUES_CONCURRENCY = 32;

/** The consumer's settings; a bad value is a UsageError naming the flag or variable (exit 2). */
export function queuesSettings(flags: QueuesFlags, env: Env): QueuesSettings {
  const base = common(flags, env);
  const parsed = parseSettings(
    z.object({ queueWaitTime: intText({ min: 0, max: 20 }), concurrency: intText({ min: 1, max: 1000 }) }),
    { queueWaitTime: flags.queue_wait_time ?? "20", concurrency: flags.concurrency ?? String(DEFAULT_QUEUES_CONCURRENCY) },
    { queueWaitTime: "--queue-wait-time", concurrency: "--concurrency" },
  );
  const sources = [...new Set(SOURCE_KINDS.map((k) => base.queues[k]).filter((u): u is string => u !== undefined))];
  if (sources.length === 0) throw new UsageError("FXA_EMAIL_AWS_SQSURLS_BOUNCE, _COMPLAINT or _DELIVERY: at least one source queue must be set");
  // A forwarded delivery read back as a notification would be forwarded again, forever.
  if (base.notificationQueue && sources.includes(base.notificationQueue)) throw new UsageError("FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: must not be one of the source queues");
  const deadLetterQueue = flags.dead_letter_queue ? queueUrl("--dead-letter-queue", flags.dead_letter_queue, base.sqs.endpoint) : undefined;
  if (deadLetterQueue && sources.includes(deadLetterQueue)) throw new UsageError("--dead-letter-queue: must not be one of the source queues");
  return {
    ...base,
    sources,
    ...(deadLetterQueue ? { deadLetterQueue } : {}),
    queueWaitTime: parsed.queueWaitTime,
    concurrency: parsed.concurrency,
    drain: Boolean(flags.drain),
    // However many notifications are in flight, they share one statement at a time (notification-store.ts).
    dbPoolSize: 2,
  };
}

function secret(env: Env, name: string, minLength: number): string | undefined {
  const value = env[name] || undefined;
  if (value !== undefined && value.length < minLength) throw new UsageError(`${name}: must be at least ${minLength} characters`);
  return value;
}

/** `serve`'s settings: at least one provider's webhook must be configured. */
export function eventsSettings(flags: EventsFlags, env: Env): EventsSettings {
  const base = common(flags, env);
  const webhooks: WebhookSecrets = {};
  const sendgridAuth = secret(env, "FXA_EMAIL_EVENTS_SENDGRID_AUTH", MIN_AUTH_TOKEN_LENGTH);
  if (sendgridAuth) webhooks.sendgrid = { auth: sendgridAuth };
  const socketlabs = {
    auth: secret(env, "FXA_EMAIL_EVENTS_SOCKETLABS_AUTH", MIN_AUTH_TOKEN_LENGTH),
    secretKey: secret(env, "FXA_EMAIL_EVENTS_SOCKETLABS_SECRETKEY", 1),
    validationKey: secret(env, "FXA_EMAIL_EVENTS_SOCKETLABS_VALIDATIONKEY", 1),
  };
  const { auth, secretKey, validationKey } = socketlabs;
  if (auth && secretKey && validationKey) webhooks.socketlabs = { auth, secretKey, validationKey };
  else if (auth || secretKey || validationKey) throw new UsageError("FXA_EMAIL_EVENTS_SOCKETLABS_AUTH, _SECRETKEY and _VALIDATIONKEY: set all three or none");
  if (!webhooks.sendgrid && !webhooks.socketlabs) {
    throw new UsageError("serve: set FXA_EMAIL_EVENTS_SENDGRID_AUTH and/or FXA_EMAIL_EVENTS_SOCKETLABS_{AUTH,SECRETKEY,VALIDATIONKEY}");
  }
  const known = new Set(["FXA_EMAIL_EVENTS_SENDGRID_AUTH", "FXA_EMAIL_EVENTS_SOCKETLABS_AUTH", "FXA_EMAIL_EVENTS_SOCKETLABS_SECRETKEY", "FXA_EMAIL_EVENTS_SOCKETLABS_VALIDATIONKEY"]);
  const notices = [...base.notices];
  for (const name of Object.keys(env)) if (EVENTS_VARIABLE.test(name) && !known.has(name)) notices.push(`${name} is not a setting of email-queues; ignored`);
  return { ...base, notices, host: base.email.host, port: base.email.port, webhooks };
}

/** The settings as logged at start: secrets hidden. */
export function maskedQueuesSettings(s: QueuesSettings | EventsSettings): Record<string, unknown> {
  const masked: Record<string, unknown> = {
    ...s.email.masked,
    aws: { region: s.sqs.region, keys: s.sqs.credentials ? "[hidden]" : "[not set]", sqsurls: s.queues },
    wrapOutgoing: s.wrapOutgoing,
  };
  if ("sources" in s) Object.assign(masked, { deadLetterQueue: s.deadLetterQueue ?? "[not set]", queueWaitTime: s.queueWaitTime, concurrency: s.concurrency, drain: s.drain });
  if ("webhooks" in s) {
    masked.events = { sendgrid: s.webhooks.sendgrid ? "[hidden]" : "[not set]", socketlabs: s.webhooks.socketlabs ? "[hidden]" : "[not set]" };
  }
  return masked;
}

// ---- as the tool runtime asks for them --------------------------------------------------------------

type Input<F> = SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: F };

/** The runtime's view: the database and SQS clients it builds (SQS over fetch, MD5 checked per message). */
function forRuntime<S extends QueuesSettings | EventsSettings>(input: Input<unknown>, settings: S, poolSize: number) {
  return {
    ...settings,
    database: databaseSettings(input, { url: settings.databaseUrl, poolSize }),
    sqs: { ...settings.sqs, fetch: true, md5: false },
  };
}

const oldStyle = (input: Input<{ wrapOutgoing: boolean | undefined }>) => ({ ...emailFlagsFrom(input), wrap_outgoing: input.flags.wrapOutgoing });

export function queuesToolSettings(
  input: Input<{ queueWaitTime: string; concurrency: string; drain: boolean | undefined; deadLetterQueue: string | undefined; wrapOutgoing: boolean | undefined }>,
) {
  const { flags } = input;
  const settings = queuesSettings(
    { ...oldStyle(input), queue_wait_time: flags.queueWaitTime, concurrency: flags.concurrency, drain: flags.drain, dead_letter_queue: flags.deadLetterQueue },
    input.env,
  );
  return forRuntime(input, settings, settings.dbPoolSize);
}

export function eventsToolSettings(input: Input<{ host: string | undefined; port: string | undefined; wrapOutgoing: boolean | undefined }>) {
  return forRuntime(input, eventsSettings(oldStyle(input), input.env), 4);
}

export type QueuesToolSettings = ReturnType<typeof queuesToolSettings>;
export type EventsToolSettings = ReturnType<typeof eventsToolSettings>;
