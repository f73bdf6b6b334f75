// The tools the stack runs, one entry each: how to start it against the stack's services, the log line
// that says it is at work, and what the summary shows. A new tool adds its entry here (and its queues,
// which the stack creates); nothing else in the stack needs to know about it.
import { createSql } from "../src/db/client.ts";
import { createTokenserverRepository } from "../src/tokenserver/repository.ts";

export interface ToolContext {
  databaseUrl: string;
  sqs: { env: Record<string, string>; queues: Record<string, string> };
  storage: { url: string; secret: string };
  smtp: { host: string; port: number };
  /** Secrets made up for this stack. */
  emailToken: string;
  emailHmacKey: string;
}

export interface DevTool {
  name: string;
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
  ready(ctx: ToolContext, line: RegExpMatchArray): Promise<Record<string, string> & { summary: string }>;
}

export const ACCOUNT_EVENTS_QUEUE = "account-events";
export const PURGE_INTERVAL_SECONDS = 20;
export const PURGE_GRACE_PERIOD_SECONDS = 60;

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
  }),
  readyLine: /: Listening .*\bport=(\d+)/,
  async ready(ctx, line) {
    const url = `http://127.0.0.1:${line[1]}`;
    const heartbeat = await fetch(`${url}/__heartbeat__`);
    if (heartbeat.status !== 200) throw new Error(`email-send: /__heartbeat__ answered ${heartbeat.status}`);
    return { summary: `${url}  (SMTP to the sink by default, "provider":"mock" available; bearer token ${ctx.emailToken})`, url, token: ctx.emailToken };
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

/** In start order; the stack stops them all at once, before anything else. */
export const DEV_TOOLS: readonly DevTool[] = [emailSend, processAccountEvents, purgeOldRecords];
