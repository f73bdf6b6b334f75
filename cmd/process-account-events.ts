// process-account-events: FxA account events from SQS → the Sync tokenserver database.
import { defineCommand } from "citty";
import { loggingArgs, main, type RunData } from "../src/core/cli.ts";
import { createLogger } from "../src/core/logger.ts";
import { createMetrics } from "../src/core/metrics.ts";
import { handleShutdownSignals } from "../src/core/shutdown.ts";
import { VERSION } from "../src/core/version.ts";
import { createSql } from "../src/db/client.ts";
import { waitForDatabase } from "../src/db/wait-ready.ts";
import { createMigrateCommand } from "../src/db/migrate-command.ts";
import { createSqsClient, resolveQueueUrl } from "../src/sqs/client.ts";
import { accountEventsSettings, type AccountEventsFlags } from "../src/tokenserver/account-events-config.ts";
import { processAccountEvents } from "../src/tokenserver/account-events.ts";
import { tokenserverDbSettings } from "../src/tokenserver/config.ts";
import { TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS } from "../src/tokenserver/migrations/index.ts";
import { createTokenserverRepository } from "../src/tokenserver/repository.ts";

const command = defineCommand({
  meta: {
    name: "process-account-events",
    version: VERSION,
    description: "Apply FxA account events (delete, reset, passwordChange) from an SQS queue to the tokenserver database",
  },
  args: {
    queue_name: { type: "positional", description: "SQS queue name or URL", required: true },
    "aws-region": { type: "string", description: "SQS region (default: the AWS SDK's region chain)" },
    "queue-wait-time": { type: "string", description: "Long-poll wait in seconds (0-20)", default: "20" },
    concurrency: { type: "string", description: "Events handled at once (same-account events stay in order)", default: "8" },
    drain: { type: "boolean", description: "Exit 0 once the queue is empty (for cron/systemd timers)" },
    ...loggingArgs,
  },
  async run({ args, data }) {
    // citty answers both spellings (args.queue_wait_time reads --queue-wait-time).
    const settings = accountEventsSettings(
      args as unknown as AccountEventsFlags,
      (data as RunData).verbosity,
      process.env,
    );
    const log = createLogger({ name: "process-account-events", ...settings.logging });
    log.info("Starting up..");
    const shutdown = handleShutdownSignals((signal) => log.info(`Received ${signal}; finishing in-flight events`));
    const metrics = createMetrics(settings.metrics);
    const sql = createSql(settings.db.databaseUrl, { max: settings.dbPoolSize, applicationName: "process-account-events" });
    const sqs = createSqsClient({ region: settings.awsRegion, endpoint: settings.sqsEndpoint });
    try {
      const repo = createTokenserverRepository(sql, { spannerNodeId: settings.db.spannerNodeId, capacityReleaseRate: settings.db.capacityReleaseRate });
      await waitForDatabase(() => repo.checkSchema(), log, shutdown.signal);
      log.info(`Processing account events from ${settings.queue}`);
      const queueUrl = await resolveQueueUrl(sqs, settings.queue);
      await processAccountEvents(
        { sqs, repo, metrics, log },
        { queueUrl, waitTimeSeconds: settings.queueWaitTime, concurrency: settings.concurrency, drain: settings.drain, signal: shutdown.signal },
      );
      return 0;
    } catch (error) {
      log.error("Error while processing account events", { error });
      return 1;
    } finally {
      shutdown.dispose();
      sqs.destroy();
      await sql.end({ timeout: 5 });
      await metrics.close();
    }
  },
});

const migrate = createMigrateCommand({
  schemas: [{ domain: TOKENSERVER_DOMAIN, migrations: TOKENSERVER_MIGRATIONS }],
  databaseUrl: () => tokenserverDbSettings(process.env).databaseUrl,
});

await main(command, { migrate });
