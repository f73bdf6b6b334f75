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
  commands: {
    callers: {
      description: "Manage the callers of /send: their tokens and send-rate limits",
      usage: [
        "email-send callers add NAME [--rate N/PERIOD] [--recipient-rate N/PERIOD]   create a caller; prints its token once",
        "email-send callers list                       the callers and their limits (never tokens)",
        "email-send callers remove NAME                its tokens stop working at once",
        "email-send callers rotate NAME                prints a new token; the old one keeps working for 24 h",
        "",
        "NAME: 1-32 characters a-z, 0-9, _ and -, starting with a letter. PERIOD: second, minute, hour or day.",
        "--rate: the caller's sends per window; --recipient-rate: its sends to one address per window.",
      ],
      databaseUrl: async (env) => (await import("../src/email/config.ts")).emailDatabaseUrl(env),
      run: async (ctx) => (await import("../src/email/callers-command.ts")).runCallersCommand(ctx),
    },
  },
});

if (import.meta.main) await main(tool);
