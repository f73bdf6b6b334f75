// The purge's lane scheduler on its own: per-node concurrency, full lanes left out of the next fetch,
// waiting for capacity, drain. Rows are held by promises the test settles; no clock, no database.
import { expect, test } from "bun:test";
import { createPurgeLanes } from "../../src/tokenserver/purge-lanes.ts";

interface Row {
  id: string;
}

/** Lanes whose rows run until the test finishes them; `running` lists the rows started and not done. */
function lanesUnderTest(concurrency: number, batchSize: number) {
  const running: string[] = [];
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const lanes = createPurgeLanes<Row>({
    concurrency,
    batchSize,
    run: (row) =>
      new Promise<void>((resolve) => {
        started.push(row.id);
        running.push(row.id);
        finishers.set(row.id, () => {
          running.splice(running.indexOf(row.id), 1);
          resolve();
        });
      }),
  });
  const row = (id: string): Row => ({ id });
  return { lanes, running, started, row, finish: (id: string) => finishers.get(id)!() };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

test("each lane runs at most `concurrency` rows; rows start at pump(), lane by lane in first-use order", async () => {
  const { lanes, running, started, row, finish } = lanesUnderTest(2, 10);
  for (const id of ["a1", "b1", "a2", "a3", "b2", "n1"]) lanes.add(id.startsWith("n") ? null : id[0]!, row(id));
  expect(started).toEqual([]);
  lanes.pump();
  expect(started).toEqual(["a1", "a2", "b1", "b2", "n1"]);
  expect(lanes.inHand.size).toBe(6);
  finish("b1"); // another lane finishing frees nothing in lane a
  await settle();
  expect(running).toEqual(["a1", "a2", "b2", "n1"]);
  finish("a1");
  await settle();
  expect(running).toContain("a3");
  expect(lanes.inHand.size).toBe(4);
});

test("a lane is full with max(2 × concurrency, half a batch) rows waiting; rows without a node never count", async () => {
  const { lanes, row } = lanesUnderTest(1, 10); // full at 5 waiting
  for (let i = 0; i < 6; i++) lanes.add("slow", row(`s${i}`)); // 1 running, 5 waiting
  for (let i = 0; i < 4; i++) lanes.add("fast", row(`f${i}`)); // 1 running, 3 waiting
  for (let i = 0; i < 9; i++) lanes.add(null, row(`n${i}`));
  lanes.pump();
  expect(lanes.full()).toEqual(["slow"]);
});

test("waitForCapacity: at once with nothing in hand or less than a batch waiting in lanes that can take it", async () => {
  const { lanes, row, finish } = lanesUnderTest(1, 4); // full at 2 waiting
  await lanes.waitForCapacity(null);
  lanes.add("a", row("a0"));
  lanes.add("b", row("b0"));
  lanes.add("b", row("b1"));
  lanes.pump();
  await lanes.waitForCapacity(null); // 1 waiting < 4
  for (let i = 1; i < 4; i++) lanes.add("a", row(`a${i}`));
  lanes.add("c", row("c0"));
  lanes.add("c", row("c1"));
  lanes.pump(); // waiting: a 3 (full, not counted), b 1, c 1
  await lanes.waitForCapacity(null);
  lanes.add("d", row("d0"));
  lanes.add("d", row("d1"));
  lanes.add("e", row("e0"));
  lanes.add("e", row("e1"));
  lanes.pump(); // waiting in lanes that can take work: b 1, c 1, d 1, e 1 = 4: a batch is waiting
  let ready = false;
  const waiting = lanes.waitForCapacity(null).then(() => (ready = true));
  await settle();
  expect(ready).toBe(false);
  finish("a0"); // a settles, but its lane was full and its waiting rows do not count
  await settle();
  expect(ready).toBe(false);
  finish("e0"); // e1 starts: 3 waiting
  await waiting;
  expect(ready).toBe(true);
});

test("waitForCapacity with blockedOn waits until one of those full lanes has room, or all is done", async () => {
  const { lanes, row, finish } = lanesUnderTest(1, 2); // full at 2 waiting
  for (let i = 0; i < 3; i++) lanes.add("slow", row(`s${i}`));
  lanes.add("fast", row("f0"));
  lanes.pump();
  expect(lanes.full()).toEqual(["slow"]);
  let ready = false;
  const waiting = lanes.waitForCapacity(["slow"]).then(() => (ready = true));
  finish("f0"); // another lane settling does not help: the last fetch found only slow's rows
  await settle();
  expect(ready).toBe(false);
  finish("s0"); // slow starts s1: one waiting, no longer full
  await waiting;
  expect(lanes.full()).toEqual([]);

  // With nothing left in hand it never waits, whatever was blocked.
  finish("s1");
  await settle();
  finish("s2");
  await lanes.drain();
  await lanes.waitForCapacity(["slow"]);
});

test("waitForCapacity returns when the stop signal aborts, even with every lane full", async () => {
  const { lanes, row } = lanesUnderTest(1, 2);
  for (let i = 0; i < 3; i++) lanes.add("slow", row(`s${i}`));
  lanes.pump();
  const controller = new AbortController();
  const waiting = lanes.waitForCapacity(["slow"], controller.signal);
  controller.abort();
  await waiting;
  expect(lanes.inHand.size).toBe(3); // nothing finished: it returned because of the signal
  await lanes.waitForCapacity(["slow"], controller.signal); // already aborted: at once
});

test("drain resolves once every row in hand has finished, and only then", async () => {
  const { lanes, row, finish } = lanesUnderTest(2, 10);
  for (const id of ["a0", "a1", "a2", "b0"]) lanes.add(id[0]!, row(id));
  lanes.pump();
  let drained = false;
  const draining = lanes.drain().then(() => (drained = true));
  for (const id of ["a0", "b0", "a1"]) {
    finish(id);
    await settle();
    expect(drained).toBe(false);
  }
  finish("a2");
  await draining;
  expect(lanes.inHand.size).toBe(0);
});
