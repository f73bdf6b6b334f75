// Batched log lines: one write per turn of the event loop, in order, flushed early when large.
import { expect, test } from "bun:test";
import { batchedLineWriter } from "../../src/core/line-writer.ts";

test("lines written in one turn leave in one write, in order", async () => {
  const writes: string[] = [];
  const writer = batchedLineWriter((text) => writes.push(text));
  writer.write("a");
  writer.write("b");
  expect(writes).toEqual([]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(writes).toEqual(["a\nb\n"]);
  writer.write("c");
  writer.flush();
  expect(writes).toEqual(["a\nb\n", "c\n"]);
  writer.flush();
  expect(writes.length).toBe(2);
});

test("a large backlog is written at once", () => {
  const writes: string[] = [];
  const writer = batchedLineWriter((text) => writes.push(text), 10);
  writer.write("0123456789");
  expect(writes).toEqual(["0123456789\n"]);
});

test("close flushes and stops listening for process exit (a tool run in process leaves nothing behind)", () => {
  const writes: string[] = [];
  const before = process.listenerCount("exit");
  const writer = batchedLineWriter((text) => writes.push(text));
  expect(process.listenerCount("exit")).toBe(before + 1);
  writer.write("last");
  writer.close();
  expect(writes).toEqual(["last\n"]);
  expect(process.listenerCount("exit")).toBe(before);
});
