import { expect, test } from "bun:test";
import { startProgress } from "../../src/core/progress.ts";
import { captureLog } from "../support/log.ts";

test("the progress line: every count in order, and the rate of the counted keys since the previous line", () => {
  const captured = captureLog();
  let clock = 1_000;
  const counts = { ok: 0, invalid: 0, failed: 0 };
  const progress = startProgress({ log: captured.log, label: "Things processed", counts, keys: ["ok", "invalid", "failed"], rateOf: ["ok", "invalid"], intervalMs: 60_000, now: () => clock });
  counts.ok = 18;
  counts.invalid = 2;
  counts.failed = 7; // not part of the rate
  clock += 2_000;
  progress.stop();
  expect(captured.lines).toHaveLength(1);
  expect(captured.lines[0]!.msg).toBe("Things processed: ok=18 invalid=2 failed=7 rate=10.0/s");
  expect(captured.lines[0]!.fields).toMatchObject({ ok: 18, invalid: 2, failed: 7, ratePerSecond: 10 });
});
