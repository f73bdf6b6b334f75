// The `purge-old-records` tool: one purge run, or one every --purge-interval seconds (with the original's
// jitter) until stopped, over the runtime's database client.
import { sleep } from "../core/backoff.ts";
import { SetupError } from "../core/errors.ts";
import type { ToolContext } from "../runtime/tool-spec.ts";
import type { PurgeSettings } from "./purge-config.ts";
import { ledgerExists } from "./purge-ledger.ts";
import { purgeOldRecords } from "./purge.ts";
import { createTokenserverRepository } from "./repository.ts";
import { createStorageDeleter } from "./storage-delete.ts";

export async function runPurgeTool(ctx: ToolContext<PurgeSettings>): Promise<number> {
  const { settings, sql, metrics, log } = ctx;
  // --max-runtime ends the run like a stop request: no new batches, rows in hand are finished.
  const stop = settings.maxRuntime ? AbortSignal.any([ctx.signal, AbortSignal.timeout(settings.maxRuntime * 1000)]) : ctx.signal;
  if (settings.ledger && !(await ledgerExists(sql))) {
    throw new SetupError("--ledger needs the purge_ledger table: run `purge-old-records migrate` first");
  }
  const repo = createTokenserverRepository(sql, { spannerNodeId: settings.db.spannerNodeId, capacityReleaseRate: settings.db.capacityReleaseRate });
  const deleteStorage = createStorageDeleter({
    secret: settings.secret,
    timeoutMs: settings.requestTimeout * 1000,
    maxAttempts: settings.maxRetries,
    metrics,
    log,
    abandon: ctx.abandon,
  });
  for (;;) {
    const result = await purgeOldRecords(
      { sql, repo, deleteStorage, metrics, log, out: ctx.out },
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
}
