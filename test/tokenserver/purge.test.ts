// purge_old_records: the 12 upstream cases (spec/tokenserver.md §7.2), the edge cases of §4.10 and our
// deliberate differences, against real PostgreSQL and loopback storage nodes that verify every Hawk
// header and token.
import { beforeEach, describe, expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate.ts";
import { PURGE_LEDGER_DOMAIN, PURGE_LEDGER_MIGRATIONS } from "../../src/tokenserver/migrations/index.ts";
import { createRowClaims } from "../../src/tokenserver/purge-claims.ts";
import { purgeOldRecords, type PurgeOptions } from "../../src/tokenserver/purge.ts";
import { insertService } from "../../src/tokenserver/queries.ts";
import type { TokenserverRepository } from "../../src/tokenserver/repository.ts";
import { createStorageDeleter } from "../../src/tokenserver/storage-delete.ts";
import { SERVICE_NAME } from "../../src/tokenserver/types.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { freePort } from "../support/pg-cluster.ts";
import { startStorageNode, type RecordedDelete } from "../support/storage-node.ts";
import { createTestClock, createTokenserverTestDb, SERVICE_PATTERN } from "../support/tokenserver.ts";
import { waitFor } from "../support/wait.ts";

const SECRET = "SECRET";
const EMAIL = "test@mozilla.com";
const clock = createTestClock(BigInt(Date.now()));
const db = await createTokenserverTestDb({ now: clock.now });
await migrate(db.sql, PURGE_LEDGER_DOMAIN, PURGE_LEDGER_MIGRATIONS);
const storage = await startStorageNode(SECRET);
const spanner = await startStorageNode(SECRET);
const downedNode = `http://127.0.0.1:${await freePort()}`; // nothing listens there

let metrics = recordingMetrics();
let captured = captureLog("debug");
let out: string[] = [];
let sleeps: number[] = [];

/** purge_db: clean tables, the service, and the storage node (capacity 100). */
async function purgeDb() {
  await db.sql`truncate users, nodes, services, purge_ledger restart identity`;
  await insertService(db.sql, SERVICE_NAME, SERVICE_PATTERN);
  await db.repo.addNode(storage.url, 100);
}

/** migration_db: purge_db plus a downed node nothing listens on and a "spanner" node. */
async function migrationDb() {
  await purgeDb();
  await db.repo.addNode(downedNode, 100, { downed: true });
  await db.repo.addNode(spanner.url, 100);
}

beforeEach(async () => {
  await purgeDb();
  storage.reset();
  spanner.reset();
  metrics = recordingMetrics();
  captured = captureLog("debug");
  out = [];
  sleeps = [];
});

const allRequests = (): RecordedDelete[] => [...storage.requests, ...spanner.requests];

/** A user migrated to the spanner node: an old row on the downed node (replaced), an active one on spanner. */
async function migratedUser(keysChangedAt?: bigint | null) {
  const old = await db.repo.allocateUser(EMAIL, { node: downedNode, clientState: "aa", keysChangedAt });
  await db.repo.replaceUserRecord(old.uid);
  return await db.repo.allocateUser(EMAIL, { node: spanner.url, clientState: "aa", keysChangedAt });
}


function purge(options: Partial<PurgeOptions> & { repo?: TokenserverRepository; timeoutMs?: number; maxAttempts?: number } = {}) {
  const repo = options.repo ?? db.repo;
  return purgeOldRecords(
    {
      sql: db.sql,
      repo,
      metrics,
      log: captured.log,
      out: (line) => void out.push(line),
      now: () => Number(clock.peek()),
      deleteStorage: createStorageDeleter({
        secret: SECRET,
        timeoutMs: options.timeoutMs ?? 10_000,
        maxAttempts: options.maxAttempts ?? 5,
        metrics,
        log: captured.log,
        sleep: async (ms) => void sleeps.push(ms),
      }),
    },
    {
      gracePeriod: -1, maxPerLoop: 10, maxOffset: 0, maxRecords: 0, concurrency: 4,
      dryrun: false, force: false, ledger: false, ...options,
    },
  );
}

const records = async (email = EMAIL) => await db.repo.getUserRecords(email);

/** Every request the nodes saw was a DELETE /1.5/<uid> with a valid Hawk header and token. */
function expectVerified(requests: RecordedDelete[]) {
  for (const r of requests) {
    expect(r.method).toBe("DELETE");
    expect(r.path).toMatch(/^\/1\.5\/[0-9]+$/);
    expect(r.hawk.ok).toBe(true);
    expect(r.token).not.toBeNull();
    expect(r.token!.uid).toBe(Number(r.uid));
  }
}

describe("upstream test_purge_old_records.py", () => {
  test("1 test_purging_of_old_user_records", async () => {
    const user = await db.repo.allocateUser(EMAIL, { clientState: "aa", generation: 123n });
    await db.repo.updateUser(user, { clientState: "bb", generation: 456n, keysChangedAt: 450n });
    await db.repo.updateUser(user, { clientState: "cc", generation: 789n });
    expect((await records()).length).toBe(3);
    const current = (await db.repo.getUser(EMAIL))!;
    expect(current.clientState).toBe("cc");
    expect(current.oldClientStates.size).toBe(2);

    expect((await purge()).ok).toBe(true); // default grace: a week
    expect((await records()).length).toBe(3);
    expect(storage.requests.length).toBe(0);

    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect((await records()).length).toBe(1);
    expect(storage.requests.length).toBe(2);
    expectVerified(storage.requests);
    for (const r of storage.requests) {
      expect(r.token).toMatchObject({ node: storage.url, fxa_uid: "test" });
      expect(r.host).toBe(`127.0.0.1:${storage.port}`);
    }
    expect(new Set(storage.requests.map((r) => r.token!.fxa_kid))).toEqual(new Set(["0000000000450-uw", "0000000000123-qg"]));
    const after = (await db.repo.getUser(EMAIL))!;
    expect(after.clientState).toBe("cc");
    expect(after.oldClientStates.size).toBe(0);
  });

  async function twoRecords(email = EMAIL) {
    const user = await db.repo.allocateUser(email, { clientState: "aa" });
    await db.repo.updateUser(user, { clientState: "bb" });
    expect((await records(email)).length).toBe(2);
    return user;
  }

  test("2 test_purging_is_not_done_on_downed_nodes", async () => {
    await twoRecords();
    await db.repo.updateNode(storage.url, { downed: 1 });
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect((await records()).length).toBe(2);
    expect(storage.requests.length).toBe(0);
    await db.repo.updateNode(storage.url, { downed: 0 });
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect((await records()).length).toBe(1);
    expect(storage.requests.length).toBe(1);
  });

  test("3 test_force", async () => {
    await twoRecords();
    await db.repo.updateNode(storage.url, { downed: 1 });
    expect((await purge({ gracePeriod: 0, force: true })).ok).toBe(true);
    expect((await records()).length).toBe(1);
    expect(storage.requests.length).toBe(1);
    expectVerified(storage.requests);
  });

  test("4 test_dry_run", async () => {
    await twoRecords();
    await db.repo.updateNode(storage.url, { downed: 1 });
    expect((await purge({ gracePeriod: 0, dryrun: true })).ok).toBe(true);
    expect((await records()).length).toBe(2);
    expect(storage.requests.length).toBe(0);
  });

  test("5 test_failed_service_delete_does_not_abort_batch (STOR-70)", async () => {
    const healthy = await db.repo.allocateUser("healthy@mozilla.com", { clientState: "aa", generation: 1n });
    await db.repo.updateUser(healthy, { clientState: "bb", generation: 2n });
    const broken = await db.repo.allocateUser("broken@mozilla.com", { clientState: "aa", generation: 1n });
    const brokenOldUid = broken.uid;
    await db.repo.updateUser(broken, { clientState: "bb", generation: 2n });
    storage.script(brokenOldUid, [500]);
    const [before] = await db.sql<[{ replaced_at: bigint }]>`select replaced_at from users where uid = ${brokenOldUid}`;

    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    const healthyRows = await records("healthy@mozilla.com");
    expect(healthyRows.length).toBe(1);
    expect(healthyRows[0]!.replacedAt).toBeNull();
    expect((await records("broken@mozilla.com")).length).toBe(2);
    const [after] = await db.sql<[{ replaced_at: bigint }]>`select replaced_at from users where uid = ${brokenOldUid}`;
    expect(after.replaced_at).toBeGreaterThan(before.replaced_at);
    const failures = metrics.calls.filter((c) => c.name === "row_failure");
    expect(failures).toEqual([{ kind: "incr", name: "row_failure", value: 1, tags: { reason: "http_5xx" } }]);
  });

  test("6 test_run_level_metrics_are_emitted", async () => {
    for (const email of ["a@mozilla.com", "b@mozilla.com"]) await twoRecords(email);
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect(metrics.calls.filter((c) => c.kind === "gauge")).toEqual([{ kind: "gauge", name: "purge.backlog.size", value: 2, tags: undefined }]);
    expect(metrics.calls.filter((c) => c.name === "purge.batch.fetched").map((c) => c.value)).toEqual([2]);
    expect(metrics.count("purge.run.success")).toBe(1);
    expect(metrics.count("purge.run.failure")).toBe(0);
    const timings = metrics.calls.filter((c) => c.kind === "timing");
    expect(timings.length).toBe(1);
    expect(timings[0]!.name).toBe("purge.run.duration_ms");
    expect(timings[0]!.value).toBeGreaterThanOrEqual(0);
  });

  test("7 test_run_failure_metric_emits_on_unhandled_error", async () => {
    const failing: TokenserverRepository = {
      ...db.repo,
      getOldUserRecords: async () => {
        throw new Error("RuntimeError");
      },
    };
    expect((await purge({ gracePeriod: 0, repo: failing })).ok).toBe(false);
    expect(metrics.count("purge.run.failure")).toBe(1);
    expect(metrics.count("purge.run.success")).toBe(0);
    expect(metrics.calls.filter((c) => c.kind === "timing").length).toBe(1);
    expect(captured.messages()).toContain("Error while purging old user records");
  });

  test("8 test_purging_replaced_at [migration]", async () => {
    await migrationDb();
    const user = await db.repo.allocateUser(EMAIL, { clientState: "aa" });
    await db.repo.replaceUserRecord(user.uid);
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect((await records()).length).toBe(0);
    expect(allRequests().length).toBe(1);
    expectVerified(allRequests());
  });

  test("9 test_purging_no_override [migration]", async () => {
    await migrationDb();
    const user = await db.repo.allocateUser(EMAIL, { clientState: "aa" });
    await db.repo.replaceUserRecord(user.uid);
    await db.repo.allocateUser(EMAIL, { node: spanner.url, clientState: "aa" });
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect((await records()).length).toBe(1);
    expect(allRequests().length).toBe(1);
  });



  test("10 test_purging_override_with_migrated [migration]", async () => {
    await migrationDb();
    await migratedUser();
    expect((await purge({ gracePeriod: 0, force: true, overrideNode: spanner.url })).ok).toBe(true);
    const rows = await records();
    expect(rows.map((r) => r.node)).toEqual([spanner.url]);
    expect(allRequests().length).toBe(0); // the kids match: the live data on the spanner node is protected
    expect(metrics.count("override")).toBe(1);
  });

  test("11 test_purging_override_with_migrated_password_change [migration]", async () => {
    await migrationDb();
    const user = await migratedUser();
    await db.repo.updateUser(user, { clientState: "ab" });
    expect((await purge({ gracePeriod: 0, force: true, overrideNode: spanner.url })).ok).toBe(true);
    expect((await records()).length).toBe(1);
    expect(allRequests().length).toBe(2);
    expectVerified(allRequests());
    // The downed row's data is deleted on the override node, in the URL and in the token.
    expect(spanner.requests.every((r) => r.token!.node === spanner.url)).toBe(true);
  });

  test("12 test_purging_override_null_keys_changed_at [migration]", async () => {
    await migrationDb();
    await migratedUser(null);
    expect((await purge({ gracePeriod: 0, force: true, overrideNode: spanner.url })).ok).toBe(true);
    expect((await records()).map((r) => r.node)).toEqual([spanner.url]);
    expect(allRequests().length).toBe(0);
  });
});

/** n users, each with one replaced row on `node` (and an active one unless `retire`). */
async function replacedRows(n: number, node = storage.url, prefix = "u") {
  const uids: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const user = await db.repo.allocateUser(`${prefix}${i}@mozilla.com`, { node, clientState: "aa" });
    uids.push(user.uid);
    await db.repo.updateUser(user, { clientState: "bb" });
  }
  return uids;
}

describe("edge cases of §4.10", () => {
  test("normal, 2 old rows: 2 DELETEs and the node's slots come back (available 8 → 10, load 2 → 0)", async () => {
    for (const email of ["a@mozilla.com", "b@mozilla.com"]) {
      const user = await db.repo.allocateUser(email);
      await db.repo.replaceUserRecord(user.uid);
    }
    expect(await db.repo.getNode(storage.url)).toMatchObject({ available: 8, currentLoad: 2 });
    expect((await purge({ gracePeriod: 0, concurrency: 1 })).ok).toBe(true); // one at a time, as the original
    expect(storage.requests.length).toBe(2);
    expect(await db.repo.getNode(storage.url)).toMatchObject({ available: 10, currentLoad: 0 });
    expect(metrics.calls.map((c) => c.name)).toEqual([
      "purge.backlog.size", "purge.batch.fetched", "delete_data", "delete_user", "delete_data", "delete_user",
      "purge.run.duration_ms", "purge.run.success",
    ]);
  });

  test("dryrun with a full batch: no false 'Loop detected', nothing written, one JSON line per row and a summary", async () => {
    await replacedRows(3);
    const before = await db.sql`select uid, replaced_at from users order by uid`;
    const result = await purge({ gracePeriod: 0, dryrun: true, maxPerLoop: 3 });
    expect(result.ok).toBe(true);
    expect(storage.requests.length).toBe(0);
    expect(await db.sql`select uid, replaced_at from users order by uid`).toEqual(before);
    const lines = out.map((l) => JSON.parse(l));
    expect(lines.slice(0, 3).map((l) => l.action)).toEqual(["purge", "purge", "purge"]);
    expect(lines.slice(0, 3).every((l) => l.node === storage.url && typeof l.uid === "number")).toBe(true);
    expect(lines.at(-1)).toEqual({ summary: { purge: 3, nodeless: 0, force: 0, override: 0, skip: 0 }, failed: 0 });
    expect(captured.messages()).not.toContain("Loop detected");
  });

  test("dryrun --force --override_node writes nothing (no get_user allocation) but reports the override", async () => {
    await migrationDb();
    await migratedUser();
    const before = await db.sql`select * from users order by uid`;
    expect((await purge({ gracePeriod: 0, dryrun: true, force: true, overrideNode: spanner.url })).ok).toBe(true);
    expect(await db.sql`select * from users order by uid`).toEqual(before);
    expect(JSON.parse(out[0]!).action).toBe("override");
  });

  test("downed node without --force, full batch: the run succeeds and the rows stay", async () => {
    await replacedRows(3);
    await db.repo.updateNode(storage.url, { downed: 1 });
    const result = await purge({ gracePeriod: 0, maxPerLoop: 3 });
    expect(result.ok).toBe(true);
    expect(await db.repo.countOldUserRecords(0)).toBe(3n);
    expect(storage.requests.length).toBe(0);
  });

  test("downed + force: DELETEs go to the downed node's URL, delete_data{force} twice per row", async () => {
    await replacedRows(3);
    await db.repo.updateNode(storage.url, { downed: 1 });
    expect((await purge({ gracePeriod: 0, force: true })).ok).toBe(true);
    expect(storage.requests.length).toBe(3);
    expect(metrics.count("delete_data", { type: "force" })).toBe(6);
    expect(captured.messages().filter((m) => m.startsWith("Forcing tokenserver record delete:") && m.endsWith("(deleting service data: True)")).length).toBe(3);
  });

  test("--max-records 2 (batch 10, 5 rows): stops after 2 with the max_records metric", async () => {
    await replacedRows(5);
    expect((await purge({ gracePeriod: 0, maxRecords: 2 })).ok).toBe(true);
    expect(storage.requests.length).toBe(2);
    expect(await db.repo.countOldUserRecords(0)).toBe(3n);
    expect(metrics.count("max_records")).toBe(1);
    expect(captured.messages()).toContain("Reached max_records, exiting");
  });

  test("--max-records 3 with --max-per-loop 2 counts across the whole run (the original purged all 5)", async () => {
    await replacedRows(5);
    expect((await purge({ gracePeriod: 0, maxRecords: 3, maxPerLoop: 2 })).ok).toBe(true);
    expect(storage.requests.length).toBe(3);
    expect(await db.repo.countOldUserRecords(0)).toBe(2n);
  });

  test("404 is success", async () => {
    const [uid] = await replacedRows(1);
    storage.script(uid!, [404]);
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
  });

  test("500 / 503 / 504: one attempt, row kept and bumped, error.gone and row_failure{http_5xx}, run ok", async () => {
    const uids = await replacedRows(3);
    [500, 503, 504].forEach((status, i) => storage.script(uids[i]!, [status]));
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect(storage.requests.length).toBe(3);
    expect(metrics.count("error.gone")).toBe(3);
    expect(metrics.count("row_failure", { reason: "http_5xx" })).toBe(3);
    const rows = await db.sql<{ replaced_at: bigint }[]>`select replaced_at from users where uid = any(${uids.map(String)}::bigint[])`;
    expect(rows.length).toBe(3);
    expect(captured.messages().filter((m) => /^Failed to purge uid \d+; deferring retry \(reason=http_5xx\)$/.test(m)).length).toBe(3);
  });

  test("400, 401, 429 then 200: 4 attempts with growing capped backoff, error.gone ×3, success", async () => {
    const [uid] = await replacedRows(1);
    storage.script(uid!, [400, 401, 429, 200]);
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect(storage.requests.map((r) => r.status)).toEqual([400, 401, 429, 200]);
    expectVerified(storage.requests);
    // A fresh token and Hawk nonce for every attempt.
    expect(new Set(storage.requests.map((r) => r.hawk.ok && r.hawk.nonce)).size).toBe(4);
    expect(metrics.count("error.gone")).toBe(3);
    expect(sleeps.length).toBe(3);
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
  });

  test("507, 505 then 404: 3 attempts, success", async () => {
    const [uid] = await replacedRows(1);
    storage.script(uid!, [507, 505, 404]);
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect(storage.requests.length).toBe(3);
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
  });

  test("a node that keeps answering 4xx: at most --max-retries attempts, then the row fails like a 5xx", async () => {
    const [uid] = await replacedRows(1);
    storage.script(uid!, [429]);
    expect((await purge({ gracePeriod: 0, maxAttempts: 5 })).ok).toBe(true);
    expect(storage.requests.length).toBe(5);
    expect(sleeps.length).toBe(4);
    expect(metrics.count("row_failure", { reason: "http_4xx" })).toBe(1);
    expect(await db.repo.countOldUserRecords(86_400)).toBe(0n); // bumped: out of the eligible set for a grace period
    expect((await records("u0@mozilla.com")).length).toBe(2);
  });

  test("a node slower than --request-timeout: row_failure{timeout}, bumped", async () => {
    await replacedRows(1);
    let release!: () => void;
    storage.hold(new Promise<void>((r) => (release = r)));
    expect((await purge({ gracePeriod: 0, timeoutMs: 200 })).ok).toBe(true);
    release();
    expect(metrics.count("row_failure", { reason: "timeout" })).toBe(1);
    expect((await records("u0@mozilla.com")).length).toBe(2);
  });

  test("connection refused: row_failure{connect}, bumped", async () => {
    await db.repo.addNode(downedNode, 100);
    await replacedRows(1, downedNode);
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect(metrics.count("row_failure", { reason: "connect" })).toBe(1);
  });

  test("a nodeless row (its node was removed): DB row deleted, no request, delete_user{nodeless}", async () => {
    await db.repo.addNode("https://gone.example.com", 100);
    const user = await db.repo.allocateUser(EMAIL, { node: "https://gone.example.com" });
    await db.repo.replaceUserRecord(user.uid);
    await db.sql`delete from nodes where node = 'https://gone.example.com'`;
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect((await records()).length).toBe(0);
    expect(storage.requests.length).toBe(0);
    expect(metrics.count("delete_user", { type: "nodeless" })).toBe(1);
    expect(captured.messages()).toContain(`Deleting user record for uid ${user.uid} on row.node`);
  });

  test("client_state 'zz' (not hex): row_failure{unknown}, bumped", async () => {
    const user = await db.repo.allocateUser(EMAIL, { clientState: "zz" });
    await db.repo.replaceUserRecord(user.uid);
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true);
    expect(metrics.count("row_failure", { reason: "unknown" })).toBe(1);
    expect(storage.requests.length).toBe(0);
    expect((await records()).length).toBe(1);
  });

  test("uid range (start, none): only uids strictly greater, and the log says so", async () => {
    const uids = await replacedRows(4);
    const start = String(uids[1]);
    expect((await purge({ gracePeriod: 0, uidRange: [start, undefined] })).ok).toBe(true);
    expect(storage.requests.map((r) => BigInt(r.uid!)).sort()).toEqual([uids[2]!, uids[3]!]);
    expect(captured.messages().some((m) => m.endsWith(` within range ${start} to End`))).toBe(true);
  });
});

describe("our additions", () => {
  test("--ledger records every purged and failed row", async () => {
    const uids = await replacedRows(3);
    storage.script(uids[1]!, [503]);
    await purge({ gracePeriod: 0, ledger: true });
    const rows = await db.sql`select uid, node, action, outcome, http_status, reason from purge_ledger order by uid`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { uid: uids[0], node: storage.url, action: "purge", outcome: "purged", http_status: 200, reason: null },
      { uid: uids[1], node: storage.url, action: "purge", outcome: "failed", http_status: 503, reason: "http_5xx" },
      { uid: uids[2], node: storage.url, action: "purge", outcome: "purged", http_status: 200, reason: null },
    ]);
  });

  test("a progress line per batch with rows done, rate and backlog", async () => {
    await replacedRows(3);
    await purge({ gracePeriod: 0, maxPerLoop: 2 });
    const progress = captured.lines.filter((l) => l.msg.startsWith("Purge progress:"));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]!.fields).toMatchObject({ backlog: expect.any(String), done: expect.any(Number), ratePerSecond: expect.any(Number) });
  });

  test("a slow node does not stall the others: its lane fills while the other node's rows are all purged", async () => {
    await db.repo.addNode(spanner.url, 100);
    const slowUids = await replacedRows(12, storage.url, "slow");
    const fastUids = await replacedRows(12, spanner.url, "fast");
    let release!: () => void;
    storage.hold(new Promise<void>((r) => (release = r)));
    const run = purge({ gracePeriod: 0, maxPerLoop: 6, concurrency: 2 });
    await waitFor(async () => (await db.sql`select count(*)::int as n from users where uid = any(${fastUids.map(String)}::bigint[])`)[0]!.n === 0, "the fast node's rows");
    const slowLeft = (await db.sql`select count(*)::int as n from users where uid = any(${slowUids.map(String)}::bigint[])`)[0]!.n;
    expect(slowLeft).toBe(12);
    release();
    const result = await run;
    expect(result.ok).toBe(true);
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
  });

  test("never more than --concurrency requests in flight per node", async () => {
    await replacedRows(12);
    let release!: () => void;
    storage.hold(new Promise<void>((r) => (release = r)));
    let inFlight = 0;
    let peak = 0;
    const deleter = createStorageDeleter({ secret: SECRET, timeoutMs: 10_000, maxAttempts: 1, metrics, log: captured.log });
    const run = purgeOldRecords(
      {
        sql: db.sql, repo: db.repo, metrics, log: captured.log, out: () => {},
        deleteStorage: async (row, node) => {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          try {
            return await deleter(row, node);
          } finally {
            inFlight -= 1;
          }
        },
      },
      { gracePeriod: 0, maxPerLoop: 10, maxOffset: 0, maxRecords: 0, concurrency: 3, dryrun: false, force: false, ledger: false },
    );
    await waitFor(() => inFlight === 3, "three requests in flight");
    release();
    expect((await run).ok).toBe(true);
    expect(peak).toBe(3);
  });

  test("an aborted signal (SIGTERM, --max-runtime) stops taking new batches and finishes the rows in hand", async () => {
    await replacedRows(6);
    const controller = new AbortController();
    // The signal arrives exactly when the first batch has been fetched.
    captured = captureLog("debug", (msg) => {
      if (msg.startsWith("Fetched 2 rows")) controller.abort();
    });
    const result = await purge({ gracePeriod: 0, maxPerLoop: 2, concurrency: 2, signal: controller.signal });
    expect(result.ok).toBe(true);
    expect(result.stoppedEarly).toBe(true);
    expect(await db.repo.countOldUserRecords(0)).toBe(4n); // the first batch was finished, nothing more taken
    expect(storage.requests.length).toBe(2);
    expect(captured.messages().filter((m) => m.startsWith("Fetched")).length).toBe(1);
  });


  function expectEachUidOnce(count: number) {
    const perUid = new Map<string, number>();
    for (const r of storage.requests) perUid.set(r.uid!, (perUid.get(r.uid!) ?? 0) + 1);
    expect(perUid.size).toBe(count);
    expect([...perUid.values()].every((n) => n === 1)).toBe(true);
  }

  test("two instances over disjoint uid ranges: every row purged exactly once", async () => {
    const uids = await replacedRows(40);
    const split = String(uids[20]!);
    const results = await Promise.all([
      purge({ gracePeriod: 0, maxPerLoop: 5, concurrency: 3, uidRange: [undefined, split] }),
      purge({ gracePeriod: 0, maxPerLoop: 5, concurrency: 3, uidRange: [String(uids[20]! - 1n), undefined] }),
    ]);
    for (const r of results) expect(r.ok).toBe(true);
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
    expectEachUidOnce(40);
  });

  test("instances over overlapping uid ranges: no row is purged twice, none is left", async () => {
    const uids = await replacedRows(40);
    const results = await Promise.all([
      purge({ gracePeriod: 0, maxPerLoop: 5, concurrency: 3, maxOffset: 3 }),
      purge({ gracePeriod: 0, maxPerLoop: 5, concurrency: 3, maxOffset: 3, uidRange: [String(uids[5]! - 1n), undefined] }),
      purge({ gracePeriod: 0, maxPerLoop: 5, concurrency: 3, uidRange: [undefined, String(uids[30]!)] }),
    ]);
    for (const r of results) expect(r.ok).toBe(true);
    // Random offsets can leave rows for the next run; run once more to finish.
    await purge({ gracePeriod: 0, maxPerLoop: 50 });
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
    expectEachUidOnce(40);
  });

  test("a row another instance holds is left to it: no request, not deleted, counted as held elsewhere", async () => {
    const uids = await replacedRows(3);
    const other = await createRowClaims(db.sql, { service: await db.repo.serviceId(), freeSlots: true }); // another instance's session
    expect(await other.claim([uids[1]!], BigInt(Date.now()) + 1_000_000n)).toEqual(new Set([uids[1]!]));
    const result = await purge({ gracePeriod: 0 });
    expect(result.heldElsewhere).toBe(1);
    expect(storage.requests.map((r) => r.uid)).not.toContain(String(uids[1]));
    expect(await db.repo.countOldUserRecords(0)).toBe(1n);
    await other.close();
    expect((await purge({ gracePeriod: 0 })).ok).toBe(true); // released: the next run takes it
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
  });

});
