// The purge's scheduler: one lane per storage node, each running `concurrency` rows at once.
//
// Invariant: a node's lane is full once `fullLane` rows wait in it, and a full node is left out of the
// next fetch, so its rows wait in the database rather than in memory and one slow or failing node never
// stalls the others. Fetching waits until less than one batch waits across the lanes that are not full
// and, after a fetch that found nothing but rows of full nodes (`blockedOn`), until one of those lanes
// has room again; with nothing in hand it never waits.
//
// Rows without a node (lane `null`) are never left out of a fetch: they have no node to be slow.
import { createWorkQueue, type WorkQueue } from "../core/concurrency.ts";

export interface PurgeLanesOptions<R> {
  /** Rows run at once per lane. */
  concurrency: number;
  /** Rows per fetch (--max-per-loop). */
  batchSize: number;
  /** The per-row work; resolves when the row is finished (its claim given back). Must not reject. */
  run(row: R): Promise<void>;
}

export interface PurgeLanes<R> {
  /** Queues a row on its node's lane; it starts at the next pump(). */
  add(lane: string | null, row: R): void;
  /** Starts what fits, lane by lane in the order the lanes were first used. */
  pump(): void;
  /** Rows queued or running. */
  readonly inHand: ReadonlySet<R>;
  /** Nodes whose lane is full: leave them out of the next fetch. */
  full(): string[];
  /**
   * Resolves when fetching again is worthwhile (see the invariant), at once when nothing is in hand, or
   * when `signal` aborts. `blockedOn`: the full nodes that the last fetch found nothing besides, or null.
   */
  waitForCapacity(blockedOn: readonly string[] | null, signal?: AbortSignal): Promise<void>;
  /** Resolves once every row in hand has finished. */
  drain(): Promise<void>;
}

export function createPurgeLanes<R>(options: PurgeLanesOptions<R>): PurgeLanes<R> {
  // A lane counts as full with half a batch (and at least two rounds of work) waiting: enough to keep
  // it busy while the next fetch and claim run, not so much that one slow node hoards the backlog.
  const fullLane = Math.max(2 * options.concurrency, Math.ceil(options.batchSize / 2));
  const lanes = new Map<string | null, WorkQueue<R>>();
  const inHand = new Set<R>();
  let settleWaiters: (() => void)[] = [];

  const settled = (batch: R[]) => {
    inHand.delete(batch[0]!);
    const waiters = settleWaiters;
    settleWaiters = [];
    for (const wake of waiters) wake();
  };
  const nextSettle = (signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const wake = () => {
        signal?.removeEventListener("abort", wake);
        resolve();
      };
      settleWaiters.push(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });

  const laneOf = (key: string | null): WorkQueue<R> => {
    let lane = lanes.get(key);
    if (!lane) {
      lane = createWorkQueue<R>({ concurrency: options.concurrency, run: (batch) => options.run(batch[0]!), afterBatch: settled });
      lanes.set(key, lane);
    }
    return lane;
  };

  const full = () => {
    const nodes: string[] = [];
    for (const [key, lane] of lanes) if (key !== null && lane.waiting >= fullLane) nodes.push(key);
    return nodes;
  };
  /** Rows waiting in lanes that can take them, i.e. not full. */
  const waitingRows = () => {
    let waiting = 0;
    for (const [key, lane] of lanes) if (key === null || lane.waiting < fullLane) waiting += lane.waiting;
    return waiting;
  };

  return {
    add(key, row) {
      inHand.add(row);
      laneOf(key).push(row);
    },
    pump() {
      for (const lane of lanes.values()) lane.pump();
    },
    inHand,
    full,
    async waitForCapacity(blockedOn, signal) {
      while (inHand.size > 0 && !signal?.aborted) {
        const nowFull = full();
        const unblocked = blockedOn === null || blockedOn.some((node) => !nowFull.includes(node));
        // Keep at most one batch waiting across the lanes that can take work.
        if (unblocked && waitingRows() < options.batchSize) return;
        await nextSettle(signal);
      }
    },
    async drain() {
      while (inHand.size > 0) await nextSettle();
    },
  };
}
