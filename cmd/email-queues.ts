// email-queues: SES bounce, complaint and delivery notifications from SQS → email_bounces and the
// outgoing notification queue; `serve` answers Sendgrid and SocketLabs event webhooks the same way.
import type { Sql } from "../src/db/client.ts";
import { commonArgs, databaseArgs, defineTool, main } from "../src/runtime/tool.ts";

const wrapOutgoing = {
  type: "boolean",
  description: "Send {\"Type\":\"Notification\",\"Message\":…} (what the auth server's consumer unwraps) instead of the bare notification",
} as const;

const checkSchema = async (sql: Sql) => (await import("../src/email/queues/tool.ts")).checkQueuesToolSchema(sql);

const serveTool = defineTool({
  meta: { name: "email-queues serve", description: "Answer Sendgrid and SocketLabs event webhooks (POST /events/sendgrid, /events/socketlabs): record and forward like SQS notifications" },
  args: {
    host: { type: "string", valueHint: "ADDRESS", description: "Address to listen on (default: $FXA_EMAIL_HOST or 127.0.0.1)" },
    port: { type: "string", valueHint: "PORT", description: "Port to listen on; 0 picks a free one (default: $FXA_EMAIL_PORT or 8001)" },
    "wrap-outgoing": wrapOutgoing,
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/email/queues-config.ts")).eventsToolSettings(input),
  checkSchema,
  run: async (ctx) => (await import("../src/email/queues/tool.ts")).runEventsTool(ctx),
  // Requests in flight get 10 s, then their connections are closed.
  stopTimeoutMs: 15_000,
  inFlight: "in-flight requests",
});

export const tool = defineTool({
  meta: {
    name: "email-queues",
    description: "SES bounce, complaint and delivery notifications from SQS → bounce records and the notification queue",
  },
  args: {
    "queue-wait-time": { type: "string", valueHint: "SECONDS", description: "Long-poll wait in seconds (0-20)", default: "20" },
    concurrency: { type: "string", valueHint: "N", description: "Notifications handled at once per source queue", default: "32" },
    drain: { type: "boolean", description: "Exit 0 once every source queue is empty (for cron/systemd timers)" },
    "dead-letter-queue": { type: "string", valueHint: "URL", description: "Queue URL that receives a verbatim copy of every message that cannot be processed" },
    "wrap-outgoing": wrapOutgoing,
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/email/queues-config.ts")).queuesToolSettings(input),
  checkSchema,
  run: async (ctx) => void (await (await import("../src/email/queues/tool.ts")).runQueuesTool(ctx)),
  // Notifications in flight get 20 s, then their statements are cancelled and their messages stay queued.
  stopTimeoutMs: 30_000,
  inFlight: "in-flight notifications",
  migrate: {
    schemas: async () => [(await import("../src/email/migrations/index.ts")).EMAIL_SCHEMA],
    databaseUrl: async (env) => (await import("../src/email/config.ts")).emailDatabaseUrl(env),
  },
  commands: { serve: serveTool },
});

if (import.meta.main) await main(tool);
