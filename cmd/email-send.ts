// email-send: the HTTP email API (POST /send with bounce limits, providers, message data) over PostgreSQL.
import { existsSync, readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { loggingArgs, main, type RunData } from "../src/core/cli.ts";
import { batchedLineWriter } from "../src/core/line-writer.ts";
import { createLogger } from "../src/core/logger.ts";
import { createMetrics } from "../src/core/metrics.ts";
import { handleShutdownSignals } from "../src/core/shutdown.ts";
import { VERSION } from "../src/core/version.ts";
import { createSql } from "../src/db/client.ts";
import { createMigrateCommand } from "../src/db/migrate-command.ts";
import { emailDatabaseUrl, emailSettings } from "../src/email/config.ts";
import { startMessageDataSweep } from "../src/email/message-data.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../src/email/migrations/index.ts";
import { buildProviderTable, resolveProvider } from "../src/email/providers/registry.ts";
import { checkEmailSchema } from "../src/email/schema-check.ts";
import { waitForDatabase } from "../src/db/wait-ready.ts";
import { createEmailApp } from "../src/email/send-api.ts";
import type { VersionInfo } from "../src/http/dockerflow.ts";
import { serve } from "../src/http/serve.ts";

const STOP_DEADLINE_MS = 10_000;
const SWEEP_INTERVAL_MS = 10 * 60_000;

/** Dockerflow: a version.json in the working directory (/app in the image) wins over the built-in one. */
function versionInfo(): VersionInfo {
  const fallback = { build: "TBD", commit: "TBD", source: "https://github.com/mozilla/fxa-ops-toolkit", version: VERSION };
  if (!existsSync("version.json")) return fallback;
  return { ...fallback, ...(JSON.parse(readFileSync("version.json", "utf8")) as Partial<VersionInfo>) };
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));

const command = defineCommand({
  meta: { name: "email-send", version: VERSION, description: "HTTP email API: POST /send through SES, Sendgrid, SocketLabs, SMTP or mock, with bounce limits (`email-send migrate` applies the email schema)" },
  args: {
    host: { type: "string", description: "Address to listen on (default: $FXA_EMAIL_HOST or 127.0.0.1)" },
    port: { type: "string", description: "Port to listen on; 0 picks a free one (default: $FXA_EMAIL_PORT or 8001)" },
    ...loggingArgs,
  },
  async run({ args, data }) {
    const settings = emailSettings(
      { host: args.host, port: args.port, verbosity: (data as RunData).verbosity, human_logs: args.human_logs, metric_host: args.metric_host, metric_port: args.metric_port },
      process.env,
    );
    const { logging } = settings;
    const lines = batchedLineWriter();
    const log = createLogger({ name: "email-send", level: logging.level, format: logging.format, write: logging.silent ? () => {} : lines.write });
    log.info("Settings::new", { settings: settings.masked });
    for (const notice of settings.notices) log.warn(notice);
    const shutdown = handleShutdownSignals((signal) => log.info(`Received ${signal}; finishing in-flight requests`));
    const metrics = createMetrics(settings.metrics);
    const sql = createSql(settings.databaseUrl, { max: 4, applicationName: "email-send" });
    let sweep: { stop(): void } | undefined;
    try {
      await waitForDatabase(() => checkEmailSchema(sql), log, shutdown.signal);
      if (shutdown.signal.aborted) return 0;
      const table = buildProviderTable(settings.providers, { log });
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
      sweep = startMessageDataSweep({ sql, log, intervalMs: SWEEP_INTERVAL_MS });
      await untilAborted(shutdown.signal);
      const stopped = server.stop();
      const deadline = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), STOP_DEADLINE_MS).unref());
      if ((await Promise.race([stopped, deadline])) === "late") {
        log.warn(`Requests still running after ${STOP_DEADLINE_MS} ms; closing their connections`);
        await server.stop(true);
      }
      log.info("Stopped");
      return 0;
    } catch (error) {
      log.error("email-send failed", { error });
      return 1;
    } finally {
      sweep?.stop();
      shutdown.dispose();
      await sql.end({ timeout: 5 });
      await metrics.close();
      lines.flush();
    }
  },
});

const migrate = createMigrateCommand({ schemas: [{ domain: EMAIL_DOMAIN, migrations: EMAIL_MIGRATIONS }], databaseUrl: () => emailDatabaseUrl(process.env) });

await main(command, { migrate });
