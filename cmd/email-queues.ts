// email-queues: SES bounce, complaint and delivery notifications from SQS → email_bounces and the
// outgoing notification queue; `serve` answers Sendgrid and SocketLabs event webhooks the same way.
import { defineCommand } from "citty";
import { loggingArgs, main, type RunData } from "../src/core/cli.ts";
import { batchedLineWriter } from "../src/core/line-writer.ts";
import { createLogger } from "../src/core/logger.ts";
import { createMetrics } from "../src/core/metrics.ts";
import { handleShutdownSignals } from "../src/core/shutdown.ts";
import { VERSION } from "../src/core/version.ts";
import { createSql } from "../src/db/client.ts";
import { createMigrateCommand } from "../src/db/migrate-command.ts";
import { emailDatabaseUrl } from "../src/email/config.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../src/email/migrations/index.ts";
import { eventsSettings, maskedQueuesSettings, queuesSettings, type EventsFlags, type QueuesFlags } from "../src/email/queues-config.ts";
import { serveEvents } from "../src/email/queues/serve-events.ts";
import { runQueuesTool } from "../src/email/queues/tool.ts";
import { createSqsClient } from "../src/sqs/client.ts";

const wrapOutgoing = { type: "boolean", description: "Send {\"Type\":\"Notification\",\"Message\":…} (what the auth server's consumer unwraps) instead of the bare notification" } as const;

const command = defineCommand({
  meta: {
    name: "email-queues",
    version: VERSION,
    description: "SES bounce, complaint and delivery notifications from SQS → bounce records and the notification queue (`serve`: Sendgrid/SocketLabs webhooks; `migrate`: the email schema)",
  },
  args: {
    "queue-wait-time": { type: "string", description: "Long-poll wait in seconds (0-20)", default: "20" },
    concurrency: { type: "string", description: "Notifications handled at once per source queue", default: "8" },
    drain: { type: "boolean", description: "Exit 0 once every source queue is empty (for cron/systemd timers)" },
    "dead-letter-queue": { type: "string", description: "Queue URL that receives a verbatim copy of every message that cannot be processed" },
    "wrap-outgoing": wrapOutgoing,
    ...loggingArgs,
  },
  async run({ args, data }) {
    // citty's args answer both spellings (args.dead_letter_queue reads --dead-letter-queue), but only when read one by one.
    const flags = args as unknown as Omit<QueuesFlags, "verbosity">;
    const settings = queuesSettings(
      {
        queue_wait_time: flags.queue_wait_time, concurrency: flags.concurrency, drain: flags.drain, dead_letter_queue: flags.dead_letter_queue,
        wrap_outgoing: flags.wrap_outgoing, verbosity: (data as RunData).verbosity, human_logs: flags.human_logs, metric_host: flags.metric_host, metric_port: flags.metric_port,
      },
      process.env,
    );
    const lines = batchedLineWriter();
    const log = createLogger({ name: "email-queues", level: settings.logging.level, format: settings.logging.format, write: settings.logging.silent ? () => {} : lines.write });
    log.info("Settings::new", { settings: maskedQueuesSettings(settings) });
    for (const notice of settings.notices) log.warn(notice);
    const shutdown = handleShutdownSignals((signal) => log.info(`Received ${signal}; finishing in-flight notifications`));
    const metrics = createMetrics(settings.metrics);
    const sql = createSql(settings.databaseUrl, { max: settings.dbPoolSize, applicationName: "email-queues" });
    const sqs = createSqsClient({ ...settings.sqs, fetch: true, md5: false });
    try {
      await runQueuesTool({ sqs, sql, log, metrics, signal: shutdown.signal }, settings);
      return 0;
    } catch (error) {
      log.error("email-queues failed", { error });
      return 1;
    } finally {
      shutdown.dispose();
      sqs.destroy();
      await sql.end({ timeout: 5 });
      await metrics.close();
      lines.flush();
    }
  },
});

const serve = defineCommand({
  meta: { name: "serve", description: "Answer Sendgrid and SocketLabs event webhooks (POST /events/sendgrid, /events/socketlabs): record and forward like SQS notifications" },
  args: {
    host: { type: "string", description: "Address to listen on (default: $FXA_EMAIL_HOST or 127.0.0.1)" },
    port: { type: "string", description: "Port to listen on; 0 picks a free one (default: $FXA_EMAIL_PORT or 8001)" },
    "wrap-outgoing": wrapOutgoing,
    ...loggingArgs,
  },
  async run({ args, data }) {
    const flags = args as unknown as Omit<EventsFlags, "verbosity">;
    const settings = eventsSettings(
      {
        host: flags.host, port: flags.port, wrap_outgoing: flags.wrap_outgoing, verbosity: (data as RunData).verbosity,
        human_logs: flags.human_logs, metric_host: flags.metric_host, metric_port: flags.metric_port,
      },
      process.env,
    );
    const lines = batchedLineWriter();
    const log = createLogger({ name: "email-queues", level: settings.logging.level, format: settings.logging.format, write: settings.logging.silent ? () => {} : lines.write });
    log.info("Settings::new", { settings: maskedQueuesSettings(settings) });
    for (const notice of settings.notices) log.warn(notice);
    const shutdown = handleShutdownSignals((signal) => log.info(`Received ${signal}; finishing in-flight requests`));
    const metrics = createMetrics(settings.metrics);
    const sql = createSql(settings.databaseUrl, { max: 4, applicationName: "email-queues-serve" });
    const sqs = createSqsClient({ ...settings.sqs, fetch: true, md5: false });
    try {
      await serveEvents({ sqs, sql, log, metrics, signal: shutdown.signal }, settings);
      return 0;
    } catch (error) {
      log.error("email-queues serve failed", { error });
      return 1;
    } finally {
      shutdown.dispose();
      sqs.destroy();
      await sql.end({ timeout: 5 });
      await metrics.close();
      lines.flush();
    }
  },
});

const migrate = createMigrateCommand({ schemas: [{ domain: EMAIL_DOMAIN, migrations: EMAIL_MIGRATIONS }], databaseUrl: () => emailDatabaseUrl(process.env) });

await main(command, { migrate, serve });
