// email-send: the HTTP email API (POST /send with bounce limits, providers, message data) over PostgreSQL.
import { commonArgs, databaseArgs, defineTool, main } from "../src/runtime/tool.ts";

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
});

if (import.meta.main) await main(tool);
