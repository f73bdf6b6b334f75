// process-account-events: FxA account events from SQS → the Sync tokenserver database; `serve` takes
// the same events as the event broker's Security Event Tokens on a webhook (no SQS in between).
import type { Sql } from "../src/db/client.ts";
import { commonArgs, databaseArgs, defineTool, main } from "../src/runtime/tool.ts";

const checkSchema = async (sql: Sql) => (await import("../src/tokenserver/repository.ts")).createTokenserverRepository(sql).checkSchema();

const serveTool = defineTool({
  meta: {
    name: "process-account-events serve",
    description: "Accept the event broker's Security Event Tokens (delete-user, password-change) on POST /v1/events and apply them like SQS events",
  },
  args: {
    host: { type: "string", valueHint: "ADDRESS", description: "Address to listen on (default: 127.0.0.1)" },
    port: { type: "string", valueHint: "PORT", description: "Port to listen on; 0 picks a free one (default: $PORT or 8000)" },
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/tokenserver/account-events-config.ts")).eventsServeSettings(input),
  checkSchema,
  run: async (ctx) => (await import("../src/tokenserver/serve-events.ts")).runEventsServeTool(ctx),
  // Requests in flight get 10 s, then their connections are closed (the broker retries them).
  stopTimeoutMs: 15_000,
  inFlight: "in-flight requests",
});

export const tool = defineTool({
  meta: {
    name: "process-account-events",
    description: "Apply FxA account events (delete, reset, passwordChange) from an SQS queue to the tokenserver database",
  },
  args: {
    queue_name: { type: "positional", description: "SQS queue name or URL", required: true },
    "aws-region": { type: "string", valueHint: "REGION", description: "SQS region (default: the AWS SDK's region chain)" },
    "queue-wait-time": { type: "string", valueHint: "SECONDS", description: "Long-poll wait in seconds (0-20)", default: "20" },
    concurrency: { type: "string", valueHint: "N", description: "Events handled at once (same-account events stay in order)", default: "8" },
    drain: { type: "boolean", description: "Exit 0 once the queue is empty (for cron/systemd timers)" },
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/tokenserver/account-events-config.ts")).accountEventsSettings(input),
  checkSchema,
  run: async (ctx) => (await import("../src/tokenserver/account-events.ts")).runAccountEventsTool(ctx),
  // Handlers in flight get 20 s, then their statements are cancelled and their messages stay queued.
  stopTimeoutMs: 30_000,
  inFlight: "in-flight events",
  migrate: {
    schemas: async () => [(await import("../src/tokenserver/migrations/index.ts")).TOKENSERVER_SCHEMA],
    databaseUrl: async (env) => (await import("../src/tokenserver/config.ts")).tokenserverDbSettings(env).databaseUrl,
  },
  commands: { serve: serveTool },
});

if (import.meta.main) await main(tool);
