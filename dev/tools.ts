// The tools the stack runs, one entry each: how to start it against the stack's services, the log line
// that says it is at work, and what the summary shows. A new tool adds its entry here (and its queues,
// which the stack creates); nothing else in the stack needs to know about it.
import { createSql } from "../src/db/client.ts";
import { createTokenserverRepository } from "../src/tokenserver/repository.ts";
import type { Child } from "./child.ts";
import type { CapabilityReport } from "./db-capabilities.ts";

export interface ToolContext {
  databaseUrl: string;
  /** What the database can do (a tool may need another setting where a capability is missing). */
  capabilities: CapabilityReport;
  sqs: { env: Record<string, string>; queues: Record<string, string> };
  storage: { url: string; secret: string };
  smtp: { host: string; port: number };
  /** The SES stand-in's endpoint (AWS_ENDPOINT_URL_SES). */
  ses: { endpoint: string };
  /** The broker's relying-party stand-ins. */
  relyingParties: { name: string; clientId: string; url: string }[];
  /** Where `process-account-events serve` listens: chosen before the broker starts, so the broker
   * knows the webhook from its first client load (PGlite delivers no NOTIFY of a later change). */
  syncWebhook: { port: number; url: string };
  /** What each tool reported when ready, so far (a tool that starts `after` another reads it). */
  readyTools: Record<string, Record<string, string>>;
  /** Secrets made up for this stack. */
  emailToken: string;
  /** The admin token of event-broker and account-config (their JSON admin APIs and consoles). */
  adminToken: string;
  emailHmacKey: string;
  /** The broker's signing key (a private RSA JWK, JSON) and its proxy endpoint's token. */
  brokerKey: string;
  brokerToken: string;
  /** Runs `<tool> ARGS` to its end with the given environment (a seed that uses a tool's own CLI). */
  runTool(name: string, args: string[], env: Record<string, string>): Promise<number>;
}

export interface DevTool {
  /** What the stack's logs and state call it. */
  name: string;
  /** The cmd/ file it runs, when it is not `name` (a tool's command, such as `serve`). */
  command?: string;
  /** A tool that must be ready first (its url is in ctx.readyTools when args and env are built). */
  after?: string;
  /** SQS queues the stack creates before the tools start. */
  queues: readonly string[];
  /** Data the tool needs in its schema before it starts (after every `<tool> migrate`). */
  seed?(ctx: ToolContext): Promise<void>;
  args(ctx: ToolContext): string[];
  env(ctx: ToolContext): Record<string, string>;
  /** The log line that says the tool is at work (tools log with --human_logs: `LEVEL   : message`). */
  readyLine: RegExp;
  /** Runs once the line was seen (a further check, such as a heartbeat); returns what the summary and
   * the state file show about the tool, `summary` first. */
  ready(ctx: ToolContext, line: RegExpMatchArray, child: Pick<Child, "waitForLine">): Promise<Record<string, string> & { summary: string }>;
}

export const ACCOUNT_EVENTS_QUEUE = "account-events";
/** SES notifications as SNS delivers them (one queue per type, as in production), and the queue the
 * normalised notifications go to (the auth server's). */
export const SES_QUEUES = { bounce: "ses-bounce", complaint: "ses-complaint", delivery: "ses-delivery" } as const;
export const EMAIL_NOTIFICATION_QUEUE = "email-notifications";
export const SERVICE_NOTIFICATION_QUEUE = "service-notifications";
export const BROKER_ISSUER = "https://accounts.dev-stack.invalid";
/** The OAuth client id the tokenserver is registered with at the broker (Firefox's, as for Sync). */
export const SYNC_CLIENT_ID = "5882386c6d801776";
/** account-config's poll where NOTIFY is not delivered (PGlite): the fallback that keeps a change
 * visible within a second. Elsewhere the tool's default (10 s) backs up LISTEN. */
export const ACCOUNT_CONFIG_FALLBACK_POLL_MS = 250;
export const PURGE_INTERVAL_SECONDS = 20;
export const PURGE_GRACE_PERIOD_SECONDS = 60;

/** email-send's "ses" provider at the stand-in, and the AWS settings email-queues reads SQS with. */
const sesEnv = (ctx: ToolContext) => ({
  AWS_ENDPOINT_URL_SES: ctx.ses.endpoint,
  FXA_EMAIL_AWS_REGION: ctx.sqs.env.AWS_REGION!,
  // Stand-in credentials in the shapes the email settings validate (the emulators accept anything).
  FXA_EMAIL_AWS_KEYS_ACCESS: "AKIADEVSTACK00000000",
  FXA_EMAIL_AWS_KEYS_SECRET: "devstackdevstackdevstackdevstackdevstack",
});

/** An HTTP tool's `Listening … port=N` line, answered by its /__heartbeat__. */
async function heartbeatOf(name: string, line: RegExpMatchArray): Promise<string> {
  const url = `http://127.0.0.1:${line[1]}`;
  const heartbeat = await fetch(`${url}/__heartbeat__`);
  if (heartbeat.status !== 200) throw new Error(`${name}: /__heartbeat__ answered ${heartbeat.status}`);
  return url;
}

const emailSend: DevTool = {
  name: "email-send",
  queues: [],
  // -v: the Listening line (with the port 0 picked) is at info, which is also email-send's default.
  args: () => ["--host", "127.0.0.1", "--port", "0", "-v", "--human_logs"],
  env: (ctx) => ({
    DATABASE_URL: ctx.databaseUrl,
    FXA_EMAIL_ENV: "dev",
    FXA_EMAIL_AUTH_TOKEN: ctx.emailToken,
    FXA_EMAIL_HMACKEY: ctx.emailHmacKey,
    FXA_EMAIL_PROVIDER_DEFAULT: "smtp",
    FXA_EMAIL_SMTP_HOST: ctx.smtp.host,
    FXA_EMAIL_SMTP_PORT: String(ctx.smtp.port),
    ...sesEnv(ctx),
  }),
  readyLine: /: Listening .*\bport=(\d+)/,
  async ready(ctx, line) {
    const url = `http://127.0.0.1:${line[1]}`;
    const heartbeat = await fetch(`${url}/__heartbeat__`);
    if (heartbeat.status !== 200) throw new Error(`email-send: /__heartbeat__ answered ${heartbeat.status}`);
    return { summary: `${url}  (SMTP to the sink by default; "provider":"ses" to the SES stand-in, "mock"; bearer token ${ctx.emailToken})`, url, token: ctx.emailToken, console: `${url}/console`, consoleToken: ctx.emailToken };
  },
};

const processAccountEvents: DevTool = {
  name: "process-account-events",
  queues: [ACCOUNT_EVENTS_QUEUE],
  args: (ctx) => [ctx.sqs.queues[ACCOUNT_EVENTS_QUEUE]!, "-v", "--human_logs"],
  env: (ctx) => ({ SYNC_TOKENSERVER__DATABASE_URL: ctx.databaseUrl, ...ctx.sqs.env }),
  readyLine: /: Processing account events from /,
  ready: async () => ({ summary: `consuming the ${ACCOUNT_EVENTS_QUEUE} queue` }),
};

/** The tokenserver as the broker's third relying party: SETs on a webhook, no SQS in between. */
const tokenserverWebhook: DevTool = {
  name: "process-account-events serve",
  command: "process-account-events",
  queues: [],
  after: "event-broker",
  args: (ctx) => ["serve", "--host", "127.0.0.1", "--port", String(ctx.syncWebhook.port), "-v", "--human_logs"],
  env: (ctx) => ({
    SYNC_TOKENSERVER__DATABASE_URL: ctx.databaseUrl,
    // Known once the broker is ready (`after`); `migrate` does not read it.
    BROKER_JWKS_URL: `${ctx.readyTools["event-broker"]?.url ?? ""}/.well-known/jwks.json`,
    BROKER_ISSUER,
    BROKER_AUDIENCE: SYNC_CLIENT_ID,
  }),
  readyLine: /: Listening .*\bport=(\d+)/,
  async ready(ctx, line) {
    const url = await heartbeatOf("process-account-events serve", line);
    return { summary: `${url}/v1/events  (the broker's SETs for client ${SYNC_CLIENT_ID}, RFC 8935, verified against its JWKS → the users table)`, url };
  },
};

/** The stack's storage node in the tokenserver's nodes table: accounts are allocated to it, and purges
 * send their DELETEs to it. */
async function registerStorageNode(ctx: ToolContext): Promise<void> {
  const sql = createSql(ctx.databaseUrl, { max: 1, applicationName: "dev-stack" });
  try {
    const repo = createTokenserverRepository(sql);
    if (!(await repo.getNode(ctx.storage.url))) await repo.addNode(ctx.storage.url, 100);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const purgeOldRecords: DevTool = {
  name: "purge-old-records",
  queues: [],
  seed: registerStorageNode,
  args: () => [
    "--purge-interval", String(PURGE_INTERVAL_SECONDS),
    "--grace-period", String(PURGE_GRACE_PERIOD_SECONDS),
    "--ledger", "-v", "--human_logs",
  ],
  env: (ctx) => ({ SYNC_TOKENSERVER__DATABASE_URL: ctx.databaseUrl, PURGE_SECRET: ctx.storage.secret }),
  readyLine: /: Finished purging old user records/,
  ready: async (ctx) => ({
    summary: `every ${PURGE_INTERVAL_SECONDS} s, rows replaced more than ${PURGE_GRACE_PERIOD_SECONDS} s ago, DELETEs to ${ctx.storage.url} (secret ${ctx.storage.secret})`,
  }),
};

// Short long-polls, so a tool that is told to stop is not waiting on SQS for long.
const QUEUE_WAIT_SECONDS = "2";

const emailQueues: DevTool = {
  name: "email-queues",
  queues: [...Object.values(SES_QUEUES), EMAIL_NOTIFICATION_QUEUE],
  // --wrap-outgoing: what the auth server's consumer reads (JSON.parse(JSON.parse(Body).Message)).
  args: () => ["--queue-wait-time", QUEUE_WAIT_SECONDS, "--wrap-outgoing", "-v", "--human_logs"],
  env: (ctx) => ({
    DATABASE_URL: ctx.databaseUrl,
    FXA_EMAIL_ENV: "dev",
    FXA_EMAIL_HMACKEY: ctx.emailHmacKey,
    FXA_EMAIL_AWS_SQSURLS_BOUNCE: ctx.sqs.queues[SES_QUEUES.bounce]!,
    FXA_EMAIL_AWS_SQSURLS_COMPLAINT: ctx.sqs.queues[SES_QUEUES.complaint]!,
    FXA_EMAIL_AWS_SQSURLS_DELIVERY: ctx.sqs.queues[SES_QUEUES.delivery]!,
    FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: ctx.sqs.queues[EMAIL_NOTIFICATION_QUEUE]!,
    ...ctx.sqs.env,
    ...sesEnv(ctx),
  }),
  readyLine: /: Processing notifications/,
  ready: async () => ({
    summary: `SES notifications from ${Object.values(SES_QUEUES).join(", ")} → email_bounces, forwarded (SNS-wrapped, with /send's metadata) to ${EMAIL_NOTIFICATION_QUEUE}`,
  }),
};

/** The relying parties in broker_clients, through the broker's own CLI: the stand-ins (bearer) and
 * the tokenserver's webhook (RFC 8935). */
async function registerRelyingParties(ctx: ToolContext): Promise<void> {
  const clients = [
    ...ctx.relyingParties.map((rp) => [rp.clientId, rp.url]),
    [SYNC_CLIENT_ID, ctx.syncWebhook.url, "--format", "rfc8935"],
  ];
  for (const [clientId, url, ...extra] of clients) {
    const code = await ctx.runTool("event-broker", ["clients", "set", clientId!, "--webhook-url", url!, ...extra, "--allow-insecure-webhooks", "--human_logs"], { DATABASE_URL: ctx.databaseUrl });
    if (code !== 0) throw new Error(`event-broker clients set ${clientId} exited ${code}`);
  }
}

const eventBroker: DevTool = {
  name: "event-broker",
  queues: [SERVICE_NOTIFICATION_QUEUE],
  seed: registerRelyingParties,
  args: (ctx) => [
    "serve", "--host", "127.0.0.1", "--port", "0", "--queue", ctx.sqs.queues[SERVICE_NOTIFICATION_QUEUE]!,
    "--queue-wait-time", QUEUE_WAIT_SECONDS, "--allow-insecure-webhooks", "-v", "--human_logs",
  ],
  env: (ctx) => ({
    DATABASE_URL: ctx.databaseUrl,
    OPENID_ISSUER: BROKER_ISSUER,
    OPENID_KEY: ctx.brokerKey,
    PUBSUB_VERIFICATION_TOKEN: ctx.brokerToken,
    BROKER_ADMIN_TOKEN: ctx.adminToken,
    ...ctx.sqs.env,
  }),
  readyLine: /: Listening .*\bport=(\d+)/,
  async ready(ctx, line, child) {
    const url = await heartbeatOf("event-broker", line);
    await child.waitForLine(/: Event broker server started/, 30_000);
    const rps = [...ctx.relyingParties.map((rp) => `${rp.name} (${rp.clientId})`), `the tokenserver (${SYNC_CLIENT_ID})`].join(", ");
    return { summary: `${url}  (${SERVICE_NOTIFICATION_QUEUE} queue → SETs to ${rps}; JWKS at ${url}/.well-known/jwks.json)`, url, console: `${url}/console`, consoleToken: ctx.adminToken };
  },
};

/** A few accounts for account-config to serve, each with a blacklisted network. */
async function sampleAccounts(ctx: ToolContext): Promise<void> {
  const sql = createSql(ctx.databaseUrl, { max: 1, applicationName: "dev-stack" });
  try {
    for (const [i, token] of ["dev-shop", "dev-news", "dev-games"].entries()) {
      const [account] = await sql<[{ id: string }?]>`
        insert into attrib.attrib_account (token, name) values (${token}, ${`Sample account ${token}`})
        on conflict (token) do nothing returning id`;
      if (!account) continue; // a DATABASE_URL that had them already
      await sql`insert into attrib_client.attrib_blacklist_ip (account_id, ip, mode, note) values (${account.id}, ${`192.0.2.${i * 64}/26`}, 'discard', 'dev sample')`;
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const accountConfig: DevTool = {
  name: "account-config",
  queues: [],
  seed: sampleAccounts,
  args: (ctx) => [
    "serve", "--host", "127.0.0.1", "--port", "0", "-v", "--human_logs",
    ...(ctx.capabilities.missing["listen-notify"] ? ["--poll-interval-ms", String(ACCOUNT_CONFIG_FALLBACK_POLL_MS)] : []),
  ],
  env: (ctx) => ({ DATABASE_URL: ctx.databaseUrl, ACCOUNT_CONFIG_ADMIN_TOKEN: ctx.adminToken, ...ctx.sqs.env }),
  readyLine: /: Listening .*\bport=(\d+)/,
  async ready(ctx, line, child) {
    await child.waitForLine(/: Configuration loaded/, 60_000);
    const url = await heartbeatOf("account-config", line);
    const how = ctx.capabilities.missing["listen-notify"] ? `polled every ${ACCOUNT_CONFIG_FALLBACK_POLL_MS} ms (no NOTIFY here)` : "kept current by NOTIFY";
    return { summary: `${url}  (sample accounts dev-shop, dev-news, dev-games; ${how}; try ${url}/accounts/dev-shop)`, url, console: `${url}/console`, consoleToken: ctx.adminToken };
  },
};

/** In start order; the stack stops them all at once, before anything else. */
export const DEV_TOOLS: readonly DevTool[] = [emailSend, emailQueues, processAccountEvents, purgeOldRecords, eventBroker, tokenserverWebhook, accountConfig];
