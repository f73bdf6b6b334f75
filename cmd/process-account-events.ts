// process-account-events: FxA account events from SQS → the Sync tokenserver database.
import { commonArgs, databaseArgs, defineTool, main } from "../src/runtime/tool.ts";

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
  checkSchema: async (sql) => (await import("../src/tokenserver/repository.ts")).createTokenserverRepository(sql).checkSchema(),
  run: async (ctx) => (await import("../src/tokenserver/account-events.ts")).runAccountEventsTool(ctx),
  // Handlers in flight get 20 s, then their statements are cancelled and their messages stay queued.
  stopTimeoutMs: 30_000,
  inFlight: "in-flight events",
  migrate: {
    schemas: async () => [(await import("../src/tokenserver/migrations/index.ts")).TOKENSERVER_SCHEMA],
    databaseUrl: async (env) => (await import("../src/tokenserver/config.ts")).tokenserverDbSettings(env).databaseUrl,
  },
});

if (import.meta.main) await main(tool);
