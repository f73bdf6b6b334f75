// One run of purge-old-records (spec/tokenserver.md §4.2): find user rows replaced more than the grace
// period ago; for each, delete the user's data on its storage node, then the row.
//
// The row branches, log lines and metrics are the original's. What we changed (see README):
// - rows are fetched in batches and handed to one lane per node, each running `concurrency` rows at
//   once, and the next batch is fetched while lanes still work; a node whose lane is full is left out
//   of the next fetch, so one slow or failing node never stalls the others (purge-lanes.ts);
// - this run never fetches a row again once it has it in hand, failed on it, or saw another instance
//   holding it (advisory-lock claims, purge-claims.ts); so there is no false "Loop detected", and
//   rows on downed nodes are not fetched at all unless --force;
// - --max-records counts purged rows across the whole run; --dryrun writes nothing at all (it pages by
//   uid and reads the active record without get_user's allocation) and reports each row's action.
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import type { Metrics } from "../core/metrics.ts";
import { createRowClaims, type RowClaims } from "./purge-claims.ts";
import { createPurgeLanes } from "./purge-lanes.ts";
import { appendLedgerEntry, type LedgerEntry } from "./purge-ledger.ts";
import type { TokenserverRepository, UidRangeBound } from "./repository.ts";
import { classifyFailure, StorageDeleteError, type StorageDeleter } from "./storage-delete.ts";
import { formatKeyId } from "./token.ts";
import type { OldUserRecord } from "./types.ts";

/** What happens to a row: the original's branches, named. */
export type PurgeAction = "purge" | "nodeless" | "force" | "override" | "skip";

export interface PurgeOptions {
  /** Seconds; negative means one week (the original function's default). */
  gracePeriod: number;
  maxPerLoop: number;
  maxOffset: number;
  /** Rows purged in the whole run before it stops; 0 = no limit. */
  maxRecords: number;
  /** Rows handled at once per storage node. */
  concurrency: number;
  dryrun: boolean;
  force: boolean;
  overrideNode?: string;
  uidRange?: readonly [UidRangeBound, UidRangeBound] | null;
  ledger: boolean;
  /** Aborting stops taking new batches; rows in hand are finished. */
  signal?: AbortSignal;
}

export interface PurgeDeps {
  /** For the row claims and the ledger (the repository keeps its client to itself). */
  sql: Sql;
  repo: TokenserverRepository;
  deleteStorage: StorageDeleter;
  metrics: Metrics;
  log: Logger;
  /** Where --dryrun writes its JSON lines. */
  out: (line: string) => void;
  random?: () => number;
  /** Monotonic clock in ms, for durations and rates. */
  monotonic?: () => number;
  /** Wall clock in ms, for the claim cut-off. */
  now?: () => number;
  /** After each row: whether it was purged, and ms from the start of its work to its end (benchmarks). */
  onRowDone?: (uid: bigint, purged: boolean, ms: number) => void;
}

export interface PurgeResult {
  ok: boolean;
  /** Rows per action taken (in --dryrun: that would be taken). */
  actions: Record<PurgeAction, number>;
  failed: number;
  /** Rows left alone because another instance held them. */
  heldElsewhere: number;
  stoppedEarly: boolean;
}

const ONE_WEEK_SECONDS = 604_800;
const pyBool = (b: boolean) => (b ? "True" : "False");
const jsonUid = (uid: bigint) => (uid <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(uid) : uid.toString());

/** points_to_active: with --override_node, is this replaced row's data the user's live data? */
async function pointsToActive(row: OldUserRecord, options: PurgeOptions, deps: PurgeDeps): Promise<boolean> {
  if (!options.overrideNode || row.node === options.overrideNode) return false;
  // get_user may allocate a row; --dryrun must write nothing, so it reads what get_user would report.
  const user = options.dryrun ? await deps.repo.peekUser(row.email) : await deps.repo.getUser(row.email);
  if (!user) throw new Error(`no user record for ${row.email}`);
  const userKid = formatKeyId(user.keysChangedAt || user.generation, user.clientState);
  const rowKid = formatKeyId(row.keysChangedAt || row.generation, row.clientState);
  if (userKid !== rowKid) return false;
  deps.metrics.incr("override");
  return true;
}

export async function purgeOldRecords(deps: PurgeDeps, options: PurgeOptions): Promise<PurgeResult> {
  const { repo, metrics, log } = deps;
  const random = deps.random ?? Math.random;
  const monotonic = deps.monotonic ?? (() => performance.now());
  const now = deps.now ?? Date.now;
  const started = monotonic();
  const result: PurgeResult = {
    ok: false,
    actions: { purge: 0, nodeless: 0, force: 0, override: 0, skip: 0 },
    failed: 0,
    heldElsewhere: 0,
    stoppedEarly: false,
  };
  const grace = options.gracePeriod < 0 ? ONE_WEEK_SECONDS : options.gracePeriod;
  const rangeMsg = options.uidRange
    ? ` within range ${options.uidRange[0] || "Start"} to ${options.uidRange[1] || "End"}`
    : "";
  if (options.uidRange) log.debug(`Looking in range (${options.uidRange.map((b) => (b ? `'${b}'` : "None")).join(", ")})`);

  log.info("Purging old user records");
  let claims: RowClaims | null = null;
  const givenUp = new Set<bigint>(); // failed, skipped or held elsewhere: not fetched again this run
  let countable = 0; // rows purged or being purged, for --max-records
  let done = 0;
  let backlog = 0n;
  let lastProgress = { at: started, done: 0 };

  const maxRecordsReached = () => options.maxRecords > 0 && countable >= options.maxRecords;

  const ledger = async (entry: LedgerEntry) => {
    if (options.ledger && !options.dryrun) await appendLedgerEntry(deps.sql, entry);
  };

  // delete_user_record: with claims, deleted and released together (purge-claims.ts).
  const deleteRecord = (uid: bigint) => (claims ? claims.complete(uid) : repo.deleteUserRecord(uid));

  /** The original per-row body: branches, metrics and logs in its order. Resolves true once the row's
   * claim is released (it was deleted); false when the claim is still held. */
  const handleRow = async (row: OldUserRecord): Promise<boolean> => {
    let action: PurgeAction = "skip";
    let httpStatus: number | undefined;
    try {
      if (row.node === null) {
        action = "nodeless";
        log.info(`Deleting user record for uid ${row.uid} on row.node`);
        if (!options.dryrun) {
          metrics.incr("delete_user", 1, { type: "nodeless" });
          await deleteRecord(row.uid);
        }
      } else if (!row.downed) {
        action = "purge";
        log.info(`Purging uid ${row.uid} on ${row.node}`);
        if (!options.dryrun) {
          httpStatus = (await deps.deleteStorage(row, row.node)).status;
          metrics.incr("delete_data");
          await deleteRecord(row.uid);
          metrics.incr("delete_user", 1, { type: "not_down" });
        }
      } else if (options.force) {
        const deleteServiceData = !(await pointsToActive(row, options, deps));
        action = deleteServiceData ? "force" : "override";
        log.info(`Forcing tokenserver record delete: ${row.uid} on ${row.node} (deleting service data: ${pyBool(deleteServiceData)})`);
        if (!options.dryrun) {
          if (deleteServiceData) {
            httpStatus = (await deps.deleteStorage(row, options.overrideNode || row.node)).status;
            metrics.incr("delete_data", 1, { type: "force" });
          }
          await deleteRecord(row.uid);
          metrics.incr("delete_data", 1, { type: "force" }); // sic: the original counts delete_data twice here
        }
      }
      result.actions[action] += 1;
      if (action === "skip") givenUp.add(row.uid);
      else if (action !== "nodeless") done += 1;
      if (options.dryrun) deps.out(JSON.stringify({ uid: jsonUid(row.uid), node: row.node, action }));
      else if (action !== "skip") {
        // The row is purged whatever happens to its ledger entry; a failed entry is reported, not retried.
        await ledger({ uid: row.uid, node: row.node, action, outcome: "purged", httpStatus }).catch((error) =>
          log.error(`Failed to record the purge of uid ${row.uid} in the ledger`, { error }),
        );
      }
      return action !== "skip";
    } catch (error) {
      if (action === "purge" || action === "force") countable -= 1; // a failed row does not count
      result.failed += 1;
      givenUp.add(row.uid);
      const reason = classifyFailure(error);
      log.error(`Failed to purge uid ${row.uid}; deferring retry (reason=${reason})`, { error });
      metrics.incr("row_failure", 1, { reason });
      if (!options.dryrun) {
        try {
          await repo.replaceUserRecord(row.uid); // back of the queue for a grace period
        } catch (bumpError) {
          log.error(`Failed to bump replaced_at for uid ${row.uid}`, { error: bumpError });
          metrics.incr("row_failure_bump_failed");
        }
        await ledger({
          uid: row.uid, node: row.node, action, outcome: "failed",
          httpStatus: error instanceof StorageDeleteError ? error.status : undefined, reason,
        }).catch((ledgerError) => log.error(`Failed to record the failure of uid ${row.uid} in the ledger`, { error: ledgerError }));
      }
      return false;
    }
  };

  // Rows in hand run in one lane per node (purge-lanes.ts); a forced row of a downed node goes to the
  // node its data is deleted from.
  const laneKey = (row: OldUserRecord) =>
    row.node === null ? null : row.downed && options.force && options.overrideNode ? options.overrideNode : row.node;
  const lanes = createPurgeLanes<OldUserRecord>({
    concurrency: options.concurrency,
    batchSize: options.maxPerLoop,
    run: async (row) => {
      const startedAt = monotonic();
      const released = await handleRow(row);
      deps.onRowDone?.(row.uid, released, monotonic() - startedAt);
      if (claims && !released) await claims.release(row.uid).catch((error) => log.warn("Could not release a row claim", { error }));
    },
  });
  // The nodes left out of the last fetch that found nothing else: fetching again is pointless until one
  // of their lanes has room again, or everything in hand is finished.
  let blockedOn: string[] | null = null;

  const reportProgress = () => {
    const at = monotonic();
    const rate = at > lastProgress.at ? ((done - lastProgress.done) * 1000) / (at - lastProgress.at) : 0;
    const remaining = backlog > BigInt(done) ? backlog - BigInt(done) : 0n;
    log.info(`Purge progress: ${done} rows done, ${rate.toFixed(0)} rows/s, about ${remaining} left`, {
      done, ratePerSecond: Math.round(rate), backlog: remaining.toString(),
    });
    lastProgress = { at, done };
  };

  try {
    if (!options.dryrun) claims = await createRowClaims(deps.sql, { service: await repo.serviceId(), freeSlots: repo.spannerNodeId === null });
    backlog = await repo.countOldUserRecords(grace);
    metrics.gauge("purge.backlog.size", Number(backlog));
    let previousUids: Set<bigint> | null = null;
    let afterUid: bigint | undefined = options.dryrun ? -1n : undefined;
    for (;;) {
      if (options.signal?.aborted) {
        result.stoppedEarly = true;
        log.info("Stopping: no new batches (signal or --max-runtime)");
        break;
      }
      if (maxRecordsReached()) break;
      await lanes.waitForCapacity(blockedOn, options.signal);
      if (options.signal?.aborted) continue;
      const excludeNodes = lanes.full();
      const offset = Math.floor(random() * (options.maxOffset + 1));
      const rows = await repo.getOldUserRecords({
        gracePeriod: grace,
        limit: options.maxPerLoop,
        offset,
        uidRange: options.uidRange,
        excludeUids: [...Array.from(lanes.inHand, (r) => r.uid), ...givenUp],
        excludeNodes,
        skipDowned: !options.force && !options.dryrun,
        afterUid,
      });
      if (rows.length === 0) {
        // Nodes left out of this fetch may still have rows (their lanes may even have emptied while it ran).
        if (lanes.inHand.size > 0 || excludeNodes.length > 0) {
          blockedOn = excludeNodes; // nothing more until one of these lanes has room (or all is done)
          continue;
        }
        log.info("No more data");
        break;
      }
      blockedOn = null;
      const uids = new Set(rows.map((r) => r.uid));
      if (previousUids && uids.size === previousUids.size && [...uids].every((u) => previousUids!.has(u))) {
        throw new Error("Loop detected");
      }
      previousUids = uids;
      log.info(`Fetched ${rows.length} rows at offset ${offset}${rangeMsg}`);
      metrics.incr("purge.batch.fetched", rows.length);
      if (afterUid !== undefined) afterUid = rows.reduce((max, r) => (r.uid > max ? r.uid : max), afterUid);

      const held = claims ? await claims.claim([...uids], BigInt(now()) - BigInt(Math.trunc(grace * 1000))) : uids;
      for (const row of rows) {
        if (!held.has(row.uid)) {
          result.heldElsewhere += 1;
          givenUp.add(row.uid);
          continue;
        }
        const counts = row.node !== null && (!row.downed || options.force);
        if (counts && maxRecordsReached()) {
          await claims?.release(row.uid);
          continue;
        }
        if (counts) countable += 1;
        lanes.add(laneKey(row), row);
      }
      lanes.pump();
      reportProgress();
      // A short batch means nothing else is eligible, except rows of the nodes we left out.
      if (rows.length < options.maxPerLoop) {
        if (excludeNodes.length === 0) break;
        blockedOn = excludeNodes;
      }
    }
    await lanes.drain();
    if (maxRecordsReached()) {
      log.info("Reached max_records, exiting");
      metrics.incr("max_records");
    }
    log.info("Finished purging old user records");
    result.ok = true;
  } catch (error) {
    log.error("Error while purging old user records", { error });
    await lanes.drain();
  } finally {
    await claims?.close().catch((error) => log.warn("Could not release row claims", { error }));
    metrics.timing("purge.run.duration_ms", Math.trunc(monotonic() - started));
    metrics.incr(result.ok ? "purge.run.success" : "purge.run.failure");
    if (options.dryrun) deps.out(JSON.stringify({ summary: result.actions, failed: result.failed }));
  }
  return result;
}
