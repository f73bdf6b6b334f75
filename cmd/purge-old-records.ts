// purge-old-records: deletes replaced tokenserver user rows and their data on the storage nodes.
import { defineCommand } from "citty";
import { sleep } from "../src/core/backoff.ts";
import { loggingArgs, main, type RunData } from "../src/core/cli.ts";
import { createLogger } from "../src/core/logger.ts";
import { createMetrics } from "../src/core/metrics.ts";
import { handleShutdownSignals } from "../src/core/shutdown.ts";
import { VERSION } from "../src/core/version.ts";
import { createSql } from "../src/db/client.ts";
import { waitForDatabase } from "../src/db/wait-ready.ts";
import { createMigrateCommand } from "../src/db/migrate-command.ts";
import { tokenserverDbSettings } from "../src/tokenserver/config.ts";
import { PURGE_LEDGER_DOMAIN, PURGE_LEDGER_MIGRATIONS, TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS } from "../src/tokenserver/migrations/index.ts";
import { purgeSettings, type PurgeFlags } from "../src/tokenserver/purge-config.ts";
import { ledgerExists } from "../src/tokenserver/purge-ledger.ts";
import { purgeOldRecords } from "../src/tokenserver/purge.ts";
import { createTokenserverRepository } from "../src/tokenserver/repository.ts";
import { createStorageDeleter } from "../src/tokenserver/storage-delete.ts";

const command = defineCommand({
  meta: {
    name: "purge-old-records",
    version: VERSION,
    description: "Delete replaced tokenserver user records and their data on the storage nodes (Hawk-signed DELETEs)",
  },
  args: {
    secret: { type: "positional", required: false, description: "Shared secret of the storage nodes (or --secret-file / PURGE_SECRET)" },
    secret_file: { type: "string", description: "Read the secret from this file (keeps it out of the process list)" },
    "purge-interval": { type: "string", default: "3600", description: "Seconds between runs (without --oneshot)" },
    "grace-period": { type: "string", default: "86400", description: "Seconds a replaced record is kept before it is purged" },
    "max-per-loop": { type: "string", default: "10", description: "Rows fetched per batch" },
    "max-offset": { type: "string", default: "0", description: "Random offset 0..N for each batch (spreads parallel runs)" },
    "max-records": { type: "string", default: "0", description: "Stop after purging this many rows in the run (0: no limit)" },
    "request-timeout": { type: "string", default: "60", description: "Seconds to wait for a storage node" },
    "max-retries": { type: "string", default: "5", description: "Attempts for a storage delete answered 4xx (not 404) or 505+" },
    concurrency: { type: "string", default: "4", description: "Rows handled at once per storage node" },
    "max-runtime": { type: "string", description: "Stop taking new batches after this many seconds" },
    oneshot: { type: "boolean", description: "One run, then exit (1 when the run failed)" },
    dryrun: { type: "boolean", description: "Write nothing; print one JSON line per row and a summary" },
    force: { type: "boolean", description: "Also purge rows whose node is downed" },
    ledger: { type: "boolean", description: "Append every purged or failed row to purge_ledger" },
    override_node: { type: "string", description: "Node URL for --force deletes (Spanner migration)" },
    range_start: { type: "string", description: "Only uids greater than this" },
    range_end: { type: "string", description: "Only uids less than this" },
    ...loggingArgs,
  },
  async run({ args, data }) {
    // citty answers both spellings (args.max_per_loop reads --max-per-loop), so the flags pass as they are.
    const settings = purgeSettings(
      args as unknown as PurgeFlags,
      (data as RunData).verbosity,
      process.env,
    );
    const log = createLogger({ name: "purge-old-records", ...settings.logging });
    const shutdown = handleShutdownSignals((signal) => log.info(`Received ${signal}; finishing the rows in hand`));
    const stop = settings.maxRuntime
      ? AbortSignal.any([shutdown.signal, AbortSignal.timeout(settings.maxRuntime * 1000)])
      : shutdown.signal;
    const metrics = createMetrics(settings.metrics);
    // Storage deletes run per node; database work is short statements, so a small pool is enough.
    const sql = createSql(settings.db.databaseUrl, { max: Math.max(4, Math.ceil(settings.concurrency / 2)) + 1, applicationName: "purge-old-records" });
    try {
      const repo = createTokenserverRepository(sql, { spannerNodeId: settings.db.spannerNodeId, capacityReleaseRate: settings.db.capacityReleaseRate });
      await waitForDatabase(() => repo.checkSchema(), log, stop);
      if (settings.ledger && !(await ledgerExists(sql))) {
        log.error("--ledger needs the purge_ledger table: run `purge-old-records migrate` first");
        return 1;
      }
      const deleteStorage = createStorageDeleter({
        secret: settings.secret,
        timeoutMs: settings.requestTimeout * 1000,
        maxAttempts: settings.maxRetries,
        metrics,
        log,
      });
      const out = (line: string) => void process.stdout.write(line + "\n");
      for (;;) {
        const result = await purgeOldRecords(
          { repo, deleteStorage, metrics, log, out },
          {
            gracePeriod: settings.gracePeriod,
            maxPerLoop: settings.maxPerLoop,
            maxOffset: settings.maxOffset,
            maxRecords: settings.maxRecords,
            concurrency: settings.concurrency,
            dryrun: settings.dryrun,
            force: settings.force,
            overrideNode: settings.overrideNode,
            uidRange: settings.uidRange,
            ledger: settings.ledger,
            signal: stop,
          },
        );
        if (settings.oneshot) return result.ok ? 0 : 1;
        if (stop.aborted) return 0;
        // The original's jitter: up to ±0.3π seconds around the interval.
        const jitter = Math.trunc((Math.random() * 2 - 1) * 0.3 * Math.PI);
        await sleep((settings.purgeInterval + jitter) * 1000, stop);
        if (stop.aborted) return 0;
      }
    } finally {
      shutdown.dispose();
      await sql.end({ timeout: 5 });
      await metrics.close();
    }
  },
});

const migrate = createMigrateCommand({
  schemas: [
    { domain: TOKENSERVER_DOMAIN, migrations: TOKENSERVER_MIGRATIONS },
    { domain: PURGE_LEDGER_DOMAIN, migrations: PURGE_LEDGER_MIGRATIONS },
  ],
  databaseUrl: () => tokenserverDbSettings(process.env).databaseUrl,
});

await main(command, { migrate });
