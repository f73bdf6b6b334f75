// The `email-send` tool: its settings as the runtime wants them, and the server's life (listen, serve,
// sweep expired message data, stop within the bound).
import type { commonArgs, databaseArgs, SettingsInput, ToolContext } from "../runtime/tool-spec.ts";
import { databaseSettings } from "../runtime/tool-settings.ts";
import { serve, stopGracefully } from "../http/serve.ts";
import { versionInfo } from "../http/version-file.ts";
import { emailFlagsFrom, emailSettings } from "./config.ts";
import { startMessageDataSweep } from "./message-data.ts";
import type { ProviderClients } from "./providers/clients.ts";
import { buildProviderTable, resolveProvider } from "./providers/registry.ts";
import { createEmailApp } from "./send-api.ts";
import { untilAborted } from "../core/abort.ts";
import { startSendCounterSweep } from "./send-rate.ts";

const SWEEP_INTERVAL_MS = 10 * 60_000;
/**
 * Connections of the service: the three per-tick batched statements of /send (caller lookup, bounce
 * lookup, send counters) run at most two batches each at once, so a few are plenty.
 */
const POOL_SIZE = 6;

type Input = SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: { host: string | undefined; port: string | undefined } };

export function emailSendSettings(input: Input) {
  const settings = emailSettings(emailFlagsFrom(input), input.env);
  return { ...settings, database: databaseSettings(input, { url: settings.databaseUrl, poolSize: POOL_SIZE }) };
}

export type EmailSendSettings = ReturnType<typeof emailSendSettings>;


export async function runEmailSend(ctx: ToolContext<EmailSendSettings> & { resources: ProviderClients }): Promise<void> {
  const { settings, log, sql, metrics } = ctx;
  log.info("Settings::new", { settings: settings.masked });
  for (const notice of settings.notices) log.warn(notice);
  const table = buildProviderTable(settings.providers, { log, clients: ctx.resources });
  const app = createEmailApp({
    sql,
    log,
    resolveProvider: (requested) => resolveProvider(table, requested, settings.providers),
    limits: settings.limits,
    hmacKey: settings.hmacKey,
    messageDataTtlMs: settings.messageDataTtlMs,
    version: versionInfo(),
    metrics,
    ...(settings.authToken ? { authToken: settings.authToken } : {}),
  });
  const server = serve(app, { port: settings.port, hostname: settings.host });
  log.info("Listening", { host: settings.host, port: server.port, providers: [...table.keys()] });
  const sweep = startMessageDataSweep({ sql, log, intervalMs: SWEEP_INTERVAL_MS });
  const counterSweep = startSendCounterSweep({ sql, log, intervalMs: SWEEP_INTERVAL_MS });
  try {
    await untilAborted(ctx.signal);
    await stopGracefully(server, ctx.abandon);
    log.info("Stopped");
  } finally {
    sweep.stop();
    counterSweep.stop();
  }
}
