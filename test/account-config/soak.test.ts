// The soak of spec/account-config.md §10 G9 / T45, short for CI (make bench runs a longer one): at the end
// the runner's state equals a fresh full load and the tables, with zero differences.
import { expect, test } from "bun:test";
import { accountConfigDatabases } from "../support/account-config.ts";
import { runSoak } from "../support/account-config-soak.ts";
import { captureLog } from "../support/log.ts";

const databases = await accountConfigDatabases();

test("4 writers, random transaction lengths, every kind of write and one TRUNCATE: zero differences (T45)", async () => {
  const db = await databases.create({ max: 3 });
  const result = await runSoak({ url: db.url, sql: db.sql, log: captureLog("warn").log, durationMs: 4_000, writers: 4, maxTxnMs: 300, pollIntervalMs: 300 });
  expect(result.commits).toBeGreaterThan(20);
  expect(result.hardDeletes).toBeGreaterThan(0);
  expect(result.truncates).toBe(1);
  expect(result.refreshes).toBeGreaterThan(5);
  expect(result.differences).toEqual([]);
});
