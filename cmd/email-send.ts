// email-send: the HTTP email API (POST /send with bounce limits, providers, message data) over PostgreSQL.
import type { ArgsDef } from "citty";
import { commonArgs, databaseArgs, defineTool, main } from "../src/runtime/tool.ts";

const callerName = { type: "positional", required: true, description: "1-32 characters a-z, 0-9, _ and -, starting with a letter" } as const;

function callersCommand<A extends ArgsDef>(action: "add" | "list" | "remove" | "rotate", description: string, args: A) {
  return defineTool({
    meta: { name: `email-send callers ${action}`, description },
    args: { ...args, ...databaseArgs, ...commonArgs },
    settings: async (input) => (await import("../src/email/callers-command.ts")).callersCommandSettings(input as never),
    run: async (ctx) => {
      const commands = await import("../src/email/callers-command.ts");
      const run = { add: commands.addCallerCommand, list: commands.listCallersCommand, remove: commands.removeCallerCommand, rotate: commands.rotateCallerCommand }[action];
      return await run(ctx);
    },
    stopTimeoutMs: 5_000,
    inFlight: "the command",
  });
}

export const tool = defineTool({
  meta: {
    name: "email-send",
    description: "HTTP email API: POST /send through SES, Sendgrid, SocketLabs, SMTP or mock, with bounce limits",
  },
  args: {
    host: { type: "string", valueHint: "ADDRESS", description: "Address to listen on (default: $FXA_EMAIL_HOST or 127.0.0.1)" },
    port: { type: "string", valueHint: "PORT", description: "Port to listen on; 0 picks a free one (default: $FXA_EMAIL_PORT or 8001)" },
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/email/send-tool.ts")).emailSendSettings(input),
  checkSchema: async (sql) => (await import("../src/email/schema-check.ts")).checkEmailSchema(sql),
  resources: async (ctx) => (await import("../src/email/providers/clients.ts")).createProviderClients(ctx.settings.providers),
  run: async (ctx) => (await import("../src/email/send-tool.ts")).runEmailSend(ctx),
  // Requests in flight get 10 s, then their connections are closed.
  stopTimeoutMs: 15_000,
  inFlight: "in-flight requests",
  migrate: {
    schemas: async () => [(await import("../src/email/migrations/index.ts")).EMAIL_SCHEMA],
    databaseUrl: async (env) => (await import("../src/email/config.ts")).emailDatabaseUrl(env),
  },
  commands: {
    callers: {
      meta: { description: "Manage the callers of /send: their tokens and send-rate limits" },
      commands: {
        add: callersCommand("add", "Create a caller; prints its token once", {
          name: callerName,
          rate: { type: "string", valueHint: "N/PERIOD", description: "The caller's sends per window (PERIOD: second, minute, hour or day)" },
          "recipient-rate": { type: "string", valueHint: "N/PERIOD", description: "Its sends to one address per window" },
        }),
        list: callersCommand("list", "The callers and their limits (never tokens)", {}),
        remove: callersCommand("remove", "Remove a caller: its tokens stop working at once", { name: callerName }),
        rotate: callersCommand("rotate", "Print a new token; the old one keeps working for 24 h", { name: callerName }),
      },
    },
  },
});

if (import.meta.main) await main(tool);
