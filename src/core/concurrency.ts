// The concurrency primitives every tool uses, so that each bound and each ordering rule is written once:
// - createLimiter: at most `size` holders at once, granted in request order (the consumer's handlers);
// - createKeyedSequencer: tasks with the same key run one at a time, in arrival order (one account's events);
// - createWorkQueue: items wait in arrival order and at most `concurrency` runs work them off, each taking
//   the oldest item or, with `maxBatch`, as many of the oldest as fit (the purge lanes, the bounce lookups);
// - perTickBatcher: items added during one turn of the event loop are flushed together (the row claims,
//   the log line writer).
// The work queue is the one kind not reducible to the others: its batches are cut when a slot frees, not
// at the end of a turn (so under load a busy caller's backlog grows into one batch), and a waiting item
// stays countable until it starts; a limiter does not batch and a per-tick batcher cuts by time.
// They do no I/O and keep no timers beyond one setImmediate per batch; each is cheap enough for a hot path.

const RESOLVED: Promise<void> = Promise.resolve();
const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as PromiseLike<unknown>).then === "function";

export interface Limiter {
  /** Resolves once a slot is held; waiters are granted slots in the order they asked. */
  acquire(): Promise<void>;
  /** Takes a slot at once if one is free (never ahead of a waiter: slots go to waiters first). */
  tryAcquire(): boolean;
  /** Gives a slot back: to the oldest waiter if there is one. */
  release(): void;
  /** Slots held. */
  readonly active: number;
  /** acquire() calls still waiting. */
  readonly waiting: number;
}

/** A counting semaphore: at most `size` holders at once, granted in request order (FIFO). */
export function createLimiter(size: number): Limiter {
  if (!(size >= 1)) throw new RangeError(`limiter size must be at least 1, got ${size}`);
  let free = size;
  const waiters: (() => void)[] = [];
  return {
    async acquire() {
      if (free > 0) {
        free -= 1;
        return;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    },
    tryAcquire() {
      if (free === 0) return false;
      free -= 1;
      return true;
    },
    release() {
      const next = waiters.shift();
      if (next) next(); // the slot passes straight to the waiter: `free` never rises while anyone waits
      else free += 1;
    },
    get active() {
      return size - free;
    },
    get waiting() {
      return waiters.length;
    },
  };
}

export interface KeyedSequencer {
  /**
   * Runs `fn` once every earlier task with the same key has settled (resolved or rejected), and settles
   * as it does. Tasks with different keys, or no key, do not wait for each other.
   */
  run<R>(key: string | undefined, fn: () => Promise<R>): Promise<R>;
  /** Keys with a task waiting or running; a key's entry is dropped as soon as it goes idle. */
  readonly size: number;
}

/** Per-key ordering: tasks with the same key run one at a time, in the order they were submitted. */
export function createKeyedSequencer(): KeyedSequencer {
  // The last task's completion per key; a new task of that key starts after it.
  const tails = new Map<string, Promise<void>>();
  return {
    run(key, fn) {
      // Even without a key, `fn` starts a microtask later, like a keyed task that waits for nobody: start
      // order is submission order whatever the keys.
      if (key === undefined) return RESOLVED.then(fn);
      const result = (tails.get(key) ?? RESOLVED).then(fn);
      const idle = () => {
        if (tails.get(key) === tail) tails.delete(key);
      };
      const tail: Promise<void> = result.then(idle, idle);
      tails.set(key, tail);
      return result;
    },
    get size() {
      return tails.size;
    },
  };
}

export interface WorkQueueOptions<T> {
  /** Runs at once. */
  concurrency: number;
  /** Works off one batch; it settles its items itself and must not reject (a rejection is reported as unhandled). */
  run(batch: T[]): Promise<void>;
  /** Total weight a batch may take; a first item heavier than this still goes, alone. Unset: one item per run. */
  maxBatch?: number;
  /** An item's weight (default 1). */
  weight?(item: T): number;
  /** After a batch has settled and its slot has gone to the next waiting items. */
  afterBatch?(batch: T[]): void;
}

export interface WorkQueue<T> {
  /** Queues an item; it starts at the next pump(), or when a running batch ends and a slot frees. */
  push(item: T): void;
  /** Starts batches while a slot is free and items wait. */
  pump(): void;
  /** Items queued and not started. */
  readonly waiting: number;
  /** Batches running. */
  readonly running: number;
}

/**
 * A FIFO queue worked off by at most `concurrency` runs at once. Batches are formed when a slot frees, not
 * when items arrive: while every slot is busy the backlog grows, and the next free slot takes the oldest
 * items that fit in `maxBatch`. This is what lets busy callers share one query (the bounce lookups) and
 * what lets a purge lane see how many rows are waiting (its fill level). Pushing does not start work,
 * so a caller can queue a whole batch and then decide the start order with pump().
 */
export function createWorkQueue<T>(options: WorkQueueOptions<T>): WorkQueue<T> {
  const slots = createLimiter(options.concurrency);
  const { maxBatch } = options;
  const weight = options.weight ?? (() => 1);
  const queue: T[] = [];

  const pump = () => {
    while (queue.length > 0 && slots.tryAcquire()) {
      const batch: T[] = [queue.shift()!];
      if (maxBatch !== undefined) {
        let size = weight(batch[0]!);
        while (queue.length > 0 && size + weight(queue[0]!) <= maxBatch) {
          size += weight(queue[0]!);
          batch.push(queue.shift()!);
        }
      }
      const done = () => {
        slots.release();
        pump();
        options.afterBatch?.(batch);
      };
      void options.run(batch).then(done, (error: unknown) => {
        done();
        throw error; // a run must not reject: surface it as unhandled rather than drop it
      });
    }
  };

  return {
    push: (item) => void queue.push(item),
    pump,
    get waiting() {
      return queue.length;
    },
    get running() {
      return slots.active;
    },
  };
}

export interface TickBatcher<T> {
  /** Queues an item for this turn's flush. An error of a flush nobody awaits is thrown where it happens. */
  add(item: T): void;
  /** Queues an item and settles when the flush that carries it has settled (rejecting with its error). */
  addAndWait(item: T): Promise<void>;
  /** Flushes what is pending now, without waiting for the end of the turn (e.g. at a size limit or at exit). */
  flush(): void;
  /** Resolves once everything added so far has been flushed and every flush has settled; never rejects. */
  idle(): Promise<void>;
  /** Items waiting for the next flush. */
  readonly pending: number;
}

/**
 * Collects items and calls `flush` once per turn of the event loop (setImmediate) with all of them, in the
 * order they were added. `flush` may be synchronous or return a promise; flushes of successive turns may
 * overlap (each gets its own items).
 */
export function perTickBatcher<T>(flush: (items: T[]) => unknown): TickBatcher<T> {
  let pending: T[] = [];
  let scheduled = false;
  // Created only when someone awaits the pending batch, so a fire-and-forget user pays no promise per batch.
  let waiter: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | null = null;
  let flushing = 0;
  let idleWaiters: (() => void)[] = [];

  const checkIdle = () => {
    if (pending.length > 0 || flushing > 0 || idleWaiters.length === 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const run = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const items = pending;
    pending = [];
    const batch = waiter;
    waiter = null;
    let result: unknown;
    try {
      result = flush(items);
    } catch (error) {
      checkIdle();
      if (!batch) throw error;
      batch.reject(error);
      return;
    }
    if (isThenable(result)) {
      flushing += 1;
      const settled = () => {
        flushing -= 1;
        checkIdle();
      };
      void result.then(
        () => {
          settled();
          batch?.resolve();
        },
        (error: unknown) => {
          settled();
          if (!batch) throw error; // nobody awaits this batch: surface the error as unhandled, never drop it
          batch.reject(error);
        },
      );
    } else {
      batch?.resolve();
      checkIdle();
    }
  };

  const add = (item: T) => {
    pending.push(item);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  };

  return {
    add,
    addAndWait(item) {
      add(item);
      if (!waiter) {
        let resolve!: () => void;
        let reject!: (error: unknown) => void;
        const promise = new Promise<void>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        waiter = { promise, resolve, reject };
      }
      return waiter.promise;
    },
    flush: run,
    idle() {
      if (pending.length === 0 && flushing === 0) return RESOLVED;
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get pending() {
      return pending.length;
    },
  };
}

/**
 * Turns one round trip per call into one per batch: calls made in the same turn of the event loop, and
 * those that arrive while `maxInFlight` batches are running, go out together (at most `maxBatch`, by
 * weight) through `call`, which answers one output per input, in order. A failed batch fails every call
 * it carried. Idle, a call waits for nobody but the end of its microtask.
 */
export function coalesceCalls<I, O>(
  call: (inputs: I[]) => Promise<readonly O[]>,
  options: { maxInFlight: number; maxBatch: number; weight?: (input: I) => number },
): (input: I) => Promise<O> {
  interface Waiting {
    input: I;
    resolve(output: O): void;
    reject(error: unknown): void;
  }
  const queue = createWorkQueue<Waiting>({
    concurrency: options.maxInFlight,
    maxBatch: options.maxBatch,
    ...(options.weight ? { weight: (w: Waiting) => options.weight!(w.input) } : {}),
    run: async (batch) => {
      try {
        const outputs = await call(batch.map((w) => w.input));
        batch.forEach((w, i) => w.resolve(outputs[i]!));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    },
  });
  let scheduled = false;
  const pump = () => {
    scheduled = false;
    queue.pump();
  };
  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(pump);
      }
    });
}
