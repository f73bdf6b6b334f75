// The concurrency primitives on their own: bounds, order, batching per tick, idle clean-up, errors.
// Nothing here waits on a clock: tasks are held by promises the test settles, and "a turn of the event
// loop" is one setImmediate.
import { describe, expect, test } from "bun:test";
import { createKeyedSequencer, createLimiter, createWorkQueue, perTickBatcher, coalesceCalls } from "../../src/core/concurrency.ts";

/** A promise the test settles by hand. */
function gate() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
/** Lets every pending promise reaction run. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("createLimiter", () => {
  test("at most `size` holders; waiters are granted slots in the order they asked", async () => {
    const slots = createLimiter(2);
    const granted: string[] = [];
    const ask = (name: string) => slots.acquire().then(() => void granted.push(name));
    const all = Promise.all(["a", "b", "c", "d", "e"].map(ask));
    await settle();
    expect(granted).toEqual(["a", "b"]);
    expect([slots.active, slots.waiting]).toEqual([2, 3]);
    slots.release();
    await settle();
    expect(granted).toEqual(["a", "b", "c"]);
    slots.release();
    slots.release();
    await all;
    expect(granted).toEqual(["a", "b", "c", "d", "e"]);
    expect([slots.active, slots.waiting]).toEqual([2, 0]);
    slots.release();
    slots.release();
    expect(slots.active).toBe(0);
  });

  test("tryAcquire takes a free slot at once and never jumps ahead of a waiter", async () => {
    const slots = createLimiter(1);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    let waiterGot = false;
    void slots.acquire().then(() => (waiterGot = true));
    slots.release(); // goes to the waiter, not to the next tryAcquire
    expect(slots.tryAcquire()).toBe(false);
    await settle();
    expect(waiterGot).toBe(true);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
  });

  test("a size below 1 is refused rather than deadlocking", () => {
    expect(() => createLimiter(0)).toThrow(RangeError);
    expect(() => createLimiter(Number.NaN)).toThrow(RangeError);
  });
});

describe("createKeyedSequencer", () => {
  test("tasks of one key run one at a time in submission order; other keys do not wait", async () => {
    const order = createKeyedSequencer();
    const events: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const task = (name: string) => () => {
      events.push(`start ${name}`);
      const g = gate();
      gates.set(name, g);
      return g.promise.then(() => void events.push(`end ${name}`));
    };
    const runs = [order.run("a", task("a1")), order.run("a", task("a2")), order.run("b", task("b1")), order.run("a", task("a3"))];
    await settle();
    expect(events).toEqual(["start a1", "start b1"]);
    expect(order.size).toBe(2);
    gates.get("b1")!.resolve();
    await settle();
    expect(events).toEqual(["start a1", "start b1", "end b1"]);
    expect(order.size).toBe(1); // b went idle: its entry is gone
    gates.get("a1")!.resolve();
    await settle();
    expect(events.slice(3)).toEqual(["end a1", "start a2"]);
    gates.get("a2")!.resolve();
    await settle();
    gates.get("a3")!.resolve();
    await Promise.all(runs);
    expect(events.slice(5)).toEqual(["end a2", "start a3", "end a3"]);
    expect(order.size).toBe(0);
  });

  test("a failed task rejects its own caller only; the next task of its key still runs", async () => {
    const order = createKeyedSequencer();
    const failed = order.run("k", async () => {
      throw new Error("boom");
    });
    const next = order.run("k", async () => "ran");
    await expect(failed).rejects.toThrow("boom");
    expect(await next).toBe("ran");
    await settle();
    expect(order.size).toBe(0);
  });

  test("tasks without a key are not ordered against anything and leave no entry", async () => {
    const order = createKeyedSequencer();
    const held = gate();
    const started: number[] = [];
    const first = order.run(undefined, () => (started.push(1), held.promise));
    const second = order.run(undefined, async () => void started.push(2));
    await second;
    expect(started).toEqual([1, 2]);
    expect(order.size).toBe(0);
    held.resolve();
    await first;
  });
});

describe("createWorkQueue", () => {
  test("push only queues; pump starts the oldest items, at most `concurrency` at once", async () => {
    const gates: ReturnType<typeof gate>[] = [];
    const started: number[] = [];
    const queue = createWorkQueue<number>({
      concurrency: 2,
      run: async ([n]) => {
        started.push(n!);
        const g = gate();
        gates.push(g);
        await g.promise;
      },
    });
    for (const n of [1, 2, 3, 4]) queue.push(n);
    expect(started).toEqual([]);
    queue.pump();
    expect(started).toEqual([1, 2]);
    expect([queue.running, queue.waiting]).toEqual([2, 2]);
    gates[1]!.resolve();
    await settle();
    expect(started).toEqual([1, 2, 3]); // a freed slot takes the next item without another pump()
    gates[0]!.resolve();
    await settle();
    expect(started).toEqual([1, 2, 3, 4]);
    expect([queue.running, queue.waiting]).toEqual([2, 0]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    await settle();
    expect(queue.running).toBe(0);
  });

  test("a free slot takes as many of the oldest items as fit in maxBatch; an oversized one goes alone", async () => {
    const batches: string[][] = [];
    const queue = createWorkQueue<string>({
      concurrency: 1,
      maxBatch: 5,
      weight: (s) => s.length,
      run: async (batch) => void batches.push(batch),
    });
    for (const s of ["aa", "bb", "c", "dddddddd", "e", "ff", "ggg"]) queue.push(s);
    queue.pump();
    await settle();
    expect(batches).toEqual([["aa", "bb", "c"], ["dddddddd"], ["e", "ff"], ["ggg"]]);
  });

  test("items pushed while every slot is busy wait and then share one batch", async () => {
    const held = gate();
    const batches: number[][] = [];
    const queue = createWorkQueue<number>({
      concurrency: 1,
      maxBatch: 100,
      run: async (batch) => {
        batches.push(batch);
        if (batches.length === 1) await held.promise;
      },
    });
    queue.push(0);
    queue.pump();
    for (let n = 1; n <= 5; n++) {
      queue.push(n);
      queue.pump(); // no free slot: nothing starts
    }
    expect(batches).toEqual([[0]]);
    held.resolve();
    await settle();
    expect(batches).toEqual([[0], [1, 2, 3, 4, 5]]);
  });

  test("afterBatch runs once the finished batch's slot has gone to the next item", async () => {
    const seen: { batch: number[]; running: number; waiting: number }[] = [];
    const queue = createWorkQueue<number>({
      concurrency: 1,
      run: async () => {},
      afterBatch: (batch) => seen.push({ batch, running: queue.running, waiting: queue.waiting }),
    });
    queue.push(1);
    queue.push(2);
    queue.pump();
    await settle();
    expect(seen).toEqual([
      { batch: [1], running: 1, waiting: 0 }, // 2 already started
      { batch: [2], running: 0, waiting: 0 },
    ]);
  });
});

describe("perTickBatcher", () => {
  test("items added in one turn are flushed together, in order, at the end of the turn", async () => {
    const flushes: number[][] = [];
    const batcher = perTickBatcher<number>((items) => void flushes.push(items));
    batcher.add(1);
    batcher.add(2);
    batcher.add(3);
    expect(flushes).toEqual([]);
    expect(batcher.pending).toBe(3);
    await nextTurn();
    expect(flushes).toEqual([[1, 2, 3]]);
    batcher.add(4);
    await nextTurn();
    expect(flushes).toEqual([[1, 2, 3], [4]]);
    await nextTurn();
    expect(flushes.length).toBe(2); // nothing pending: no empty flush
  });

  test("flush() writes what is pending at once; the turn's flush then has nothing left to do", async () => {
    const flushes: string[][] = [];
    const batcher = perTickBatcher<string>((items) => void flushes.push(items));
    batcher.add("a");
    batcher.flush();
    expect(flushes).toEqual([["a"]]);
    batcher.flush();
    await nextTurn();
    expect(flushes).toEqual([["a"]]);
  });

  test("addAndWait settles when its flush settles; a failed flush rejects every item of its batch only", async () => {
    const flushes: ReturnType<typeof gate>[] = [];
    const batcher = perTickBatcher<number>(() => {
      const g = gate();
      flushes.push(g);
      return g.promise;
    });
    let firstDone = false;
    const first = [batcher.addAndWait(1), batcher.addAndWait(2)];
    void Promise.all(first).then(() => (firstDone = true), () => {});
    await nextTurn();
    expect(flushes.length).toBe(1);
    const second = batcher.addAndWait(3);
    await nextTurn();
    expect(flushes.length).toBe(2); // the second turn's flush starts while the first is still running
    expect(firstDone).toBe(false);
    flushes[0]!.reject(new Error("database down"));
    for (const p of first) await expect(p).rejects.toThrow("database down");
    flushes[1]!.resolve();
    await second;
  });

  test("idle() waits for pending items and for flushes still running, and never rejects", async () => {
    const held = gate();
    const batcher = perTickBatcher<number>(() => held.promise);
    expect(await batcher.idle()).toBeUndefined(); // nothing added: at once
    const item = batcher.addAndWait(1);
    let idle = false;
    const waiting = batcher.idle().then(() => (idle = true));
    await nextTurn();
    await settle();
    expect(idle).toBe(false); // flushed, but the flush has not settled
    held.reject(new Error("lost"));
    await expect(item).rejects.toThrow("lost");
    await waiting;
    expect(idle).toBe(true);
  });

  test("a synchronous flush error nobody awaits is thrown where the flush ran", () => {
    const batcher = perTickBatcher<number>(() => {
      throw new Error("write failed");
    });
    batcher.add(1);
    expect(() => batcher.flush()).toThrow("write failed");
    expect(batcher.pending).toBe(0);
  });
});

describe("coalesceCalls", () => {
  test("calls of one tick share one batch, in order; later calls wait for a free slot and then share the next", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const double = coalesceCalls<number, number>(
      async (items) => {
        batches.push([...items]);
        await gate;
        return items.map((i) => i * 2);
      },
      { maxInFlight: 1, maxBatch: 3 },
    );
    const first = [1, 2, 3, 4].map(double);
    await Promise.resolve();
    await Promise.resolve();
    const later = [5, 6].map(double);
    release();
    expect(await Promise.all([...first, ...later])).toEqual([2, 4, 6, 8, 10, 12]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  test("a failed batch rejects each of its calls", async () => {
    const fail = coalesceCalls<number, number>(async () => Promise.reject(new Error("down")), { maxInFlight: 2, maxBatch: 10 });
    const results = await Promise.allSettled([fail(1), fail(2)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
