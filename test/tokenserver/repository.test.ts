// The shared tokenserver DB layer against real PostgreSQL: the 21 upstream test_database.py cases
// (spec/tokenserver.md §7.3), then our own cases for the spanner mode, 2^63-1 and the original's quirks.
// Upstream sleeps become clock.advance(); every clock reading also moves time on by 1 ms.
import { beforeEach, describe, expect, test } from "bun:test";
import { deleteNode, insertService } from "../../src/tokenserver/queries.ts";
import { createTokenserverRepository } from "../../src/tokenserver/repository.ts";
import { MAX_GENERATION, type TokenserverUser } from "../../src/tokenserver/types.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { createTestClock, createTokenserverTestDb, DEFAULT_NODE } from "../support/tokenserver.ts";

const clock = createTestClock();
const db = await createTokenserverTestDb({ now: clock.now });
const repo = db.repo;
const sql = db.sql;
const unmigrated = await createTestDatabase({ max: 1 });

beforeEach(() => db.reset());

const byValue = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

async function nodeState(node: string) {
  const row = await repo.getNode(node);
  if (!row) throw new Error(`no node ${node}`);
  return { available: row.available, currentLoad: row.currentLoad };
}

describe("test_database.py", () => {
  test("test_node_allocation", async () => {
    expect(await repo.getUser("test1@example.com")).toBeNull();
    const user = await repo.allocateUser("test1@example.com");
    expect(user.node).toBe("https://phx12");
    expect((await repo.getUser("test1@example.com"))!.node).toBe("https://phx12");
  });

  test("test_allocation_to_least_loaded_node", async () => {
    await repo.addNode("https://phx13", 100);
    const user1 = await repo.allocateUser("test1@mozilla.com");
    const user2 = await repo.allocateUser("test2@mozilla.com");
    expect(user1.node).not.toBe(user2.node);
  });

  test("test_allocation_is_not_allowed_to_downed_nodes", async () => {
    await repo.updateNode("https://phx12", { downed: true });
    await expect(repo.allocateUser("test1@mozilla.com")).rejects.toThrow("unable to get a node");
  });

  test("test_allocation_is_not_allowed_to_backoff_nodes", async () => {
    await repo.updateNode("https://phx12", { backoff: true });
    await expect(repo.allocateUser("test1@mozilla.com")).rejects.toThrow("unable to get a node");
  });

  test("test_update_generation_number", async () => {
    let user = await repo.allocateUser("test1@example.com");
    expect(user.generation).toBe(0n);
    expect(user.clientState).toBe("");
    const origUid = user.uid;
    const origNode = user.node;

    const expectUser = (u: TokenserverUser, generation: bigint) => {
      expect(u.uid).toBe(origUid);
      expect(u.node).toBe(origNode);
      expect(u.generation).toBe(generation);
      expect(u.clientState).toBe("");
    };
    // Changing generation leaves the other properties unchanged.
    await repo.updateUser(user, { generation: 42n });
    expectUser(user, 42n);
    user = (await repo.getUser("test1@example.com"))!;
    expectUser(user, 42n);
    // It's not possible to move the generation number backwards.
    await repo.updateUser(user, { generation: 17n });
    expectUser(user, 42n);
    user = (await repo.getUser("test1@example.com"))!;
    expectUser(user, 42n);
  });

  test("test_update_client_state", async () => {
    let user = await repo.allocateUser("test1@example.com");
    expect(user.generation).toBe(0n);
    expect(user.clientState).toBe("");
    expect([...user.oldClientStates]).toEqual([]);
    const seenUids = new Set([user.uid]);
    const origNode = user.node;

    const expectUser = (u: TokenserverUser, generation: bigint, clientState: string, old: string[]) => {
      expect(seenUids.has(u.uid)).toBe(false);
      expect(u.node).toBe(origNode);
      expect(u.generation).toBe(generation);
      expect(u.clientState).toBe(clientState);
      expect([...u.oldClientStates].sort()).toEqual(old);
    };
    // Changing client-state allocates a new uid.
    await repo.updateUser(user, { clientState: "aaaa" });
    expectUser(user, 0n, "aaaa", [""]);
    user = (await repo.getUser("test1@example.com"))!;
    expectUser(user, 0n, "aaaa", [""]);
    seenUids.add(user.uid);

    // Client-state and generation can change at once.
    await repo.updateUser(user, { clientState: "bbbb", generation: 12n });
    expectUser(user, 12n, "bbbb", ["", "aaaa"]);
    user = (await repo.getUser("test1@example.com"))!;
    expectUser(user, 12n, "bbbb", ["", "aaaa"]);

    // There is no going back to an old client-state.
    const origUid = user.uid;
    await expect(repo.updateUser(user, { clientState: "aaaa" })).rejects.toThrow("previously seen client-state string");
    user = (await repo.getUser("test1@example.com"))!;
    expect(user.uid).toBe(origUid);
    expect(user.node).toBe(origNode);
    expect(user.generation).toBe(12n);
    expect(user.clientState).toBe("bbbb");
    expect([...user.oldClientStates].sort()).toEqual(["", "aaaa"]);
  });

  test("test_user_retirement", async () => {
    await repo.allocateUser("test@mozilla.com");
    const user1 = (await repo.getUser("test@mozilla.com"))!;
    await repo.retireUser("test@mozilla.com");
    const user2 = (await repo.getUser("test@mozilla.com"))!;
    expect(user2.generation > user1.generation).toBe(true);
  });

  test("test_cleanup_of_old_records", async () => {
    // Six records for the first user, with the grace-period break after the fourth.
    const email1 = "test1@mozilla.com";
    const user1 = await repo.allocateUser(email1);
    for (const clientState of ["aaaa", "bbbb", "cccc"]) {
      clock.advance(100);
      await repo.updateUser(user1, { clientState });
    }
    clock.advance(100);
    const breakTime = clock.peek();
    for (const clientState of ["dddd", "eeee"]) {
      clock.advance(100);
      await repo.updateUser(user1, { clientState });
    }
    clock.advance(100);
    expect(await repo.getUserRecords(email1)).toHaveLength(6);
    // Three records for the second user.
    const email2 = "test2@mozilla.com";
    const user2 = await repo.allocateUser(email2);
    for (const clientState of ["aaaa", "bbbb"]) {
      clock.advance(100);
      await repo.updateUser(user2, { clientState });
    }
    clock.advance(100);
    expect(await repo.getUserRecords(email2)).toHaveLength(3);

    // That is 7 old records in all.
    expect(await repo.getOldUserRecords({ gracePeriod: 0 })).toHaveLength(7);
    // The offset skips rows.
    expect(await repo.getOldUserRecords({ gracePeriod: 0, limit: 100, offset: 3 })).toHaveLength(4);
    // The limit is respected.
    expect(await repo.getOldUserRecords({ gracePeriod: 0, limit: 2 })).toHaveLength(2);
    // The default grace period is too long to pick any of them up.
    expect(await repo.getOldUserRecords({})).toHaveLength(0);
    // A grace period can select a subset (seconds, fractional, as time.time() - break_time is).
    const grace = Number(clock.peek() - breakTime) / 1000;
    const old = await repo.getOldUserRecords({ gracePeriod: grace });
    expect(old).toHaveLength(3);
    // Old records can be deleted.
    for (const record of old) await repo.deleteUserRecord(record.uid);
    expect(await repo.getOldUserRecords({ gracePeriod: 0 })).toHaveLength(4);
  });

  test("test_node_reassignment_when_records_are_replaced", async () => {
    await repo.allocateUser("test@mozilla.com", { generation: 42n, keysChangedAt: 12n, clientState: "aaaa" });
    const user1 = (await repo.getUser("test@mozilla.com"))!;
    await repo.replaceUserRecords("test@mozilla.com");
    const user2 = (await repo.getUser("test@mozilla.com"))!;
    // A new uid, with the account metadata preserved.
    expect(user2.uid).not.toBe(user1.uid);
    expect(user2.generation).toBe(user1.generation);
    expect(user2.keysChangedAt).toBe(user1.keysChangedAt);
    expect(user2.clientState).toBe(user1.clientState);
  });

  test("test_node_reassignment_not_done_for_retired_users", async () => {
    await repo.allocateUser("test@mozilla.com", { generation: 42n, clientState: "aaaa" });
    const user1 = (await repo.getUser("test@mozilla.com"))!;
    await repo.retireUser("test@mozilla.com");
    const user2 = (await repo.getUser("test@mozilla.com"))!;
    expect(user2.uid).toBe(user1.uid);
    expect(user2.generation).toBe(MAX_GENERATION);
    expect(user2.clientState).toBe(user1.clientState);
  });

  test("test_recovery_from_racy_record_creation", async () => {
    const timestamp = clock.now();
    // Two rows with the same timestamp, as a race would create them.
    const user1 = await repo.allocateUser("test@mozilla.com", { timestamp });
    const user2 = await repo.allocateUser("test@mozilla.com", { timestamp });
    expect(user1.uid).not.toBe(user2.uid);
    // Neither is marked replaced at first.
    expect(await repo.getOldUserRecords({ gracePeriod: 0 })).toHaveLength(0);
    // Reading the user detects and repairs it.
    await repo.getUser("test@mozilla.com");
    expect(await repo.getOldUserRecords({ gracePeriod: 0 })).toHaveLength(1);
  });

  test("test_that_race_recovery_respects_generation_number_monotonicity", async () => {
    const timestamp = clock.now();
    // The out-of-date client got the later timestamp.
    const user1 = await repo.allocateUser("test@mozilla.com", { generation: 1n, timestamp });
    const user2 = await repo.allocateUser("test@mozilla.com", { generation: 2n, timestamp: timestamp - 1n });
    expect(user1.uid).not.toBe(user2.uid);
    // The higher generation wins.
    const user = (await repo.getUser("test@mozilla.com"))!;
    expect(user.generation).toBe(2n);
    expect(user.uid).toBe(user2.uid);
    // And the other row is marked replaced.
    expect(await repo.getOldUserRecords({ gracePeriod: 0 })).toHaveLength(1);
  });

  test("test_node_reassignment_and_removal", async () => {
    const NODE1 = "https://phx12";
    const NODE2 = "https://phx13";
    await repo.addNode(NODE2, 100);
    // Four users: two on each node.
    const users: TokenserverUser[] = [];
    for (const n of [1, 2, 3, 4]) users.push(await repo.allocateUser(`test${n}@mozilla.com`));
    const count = (list: readonly { node: string }[], node: string) => list.filter((u) => u.node === node).length;
    expect(count(users, NODE1)).toBe(2);
    expect(count(users, NODE2)).toBe(2);

    // Clear NODE1's assignments: its users balance over both nodes, giving 1 on NODE1 and 3 on NODE2.
    await repo.unassignNode(NODE1);
    const reassigned: TokenserverUser[] = [];
    for (const user of users) {
      const newUser = (await repo.getUser(user.email))!;
      if (user.node === NODE2) expect(newUser.node).toBe(NODE2);
      reassigned.push(newUser);
    }
    expect(count(reassigned, NODE1)).toBe(1);
    expect(count(reassigned, NODE2)).toBe(3);

    // Remove NODE2: everyone ends up on NODE1.
    await repo.removeNode(NODE2);
    for (const user of users) expect((await repo.getUser(user.email))!.node).toBe(NODE1);
    // The old rows that pointed at NODE2 have no node now.
    let nullNodes = 0;
    for (const row of await repo.getOldUserRecords({ gracePeriod: 0 })) {
      if (row.node === null) nullNodes++;
      else expect(row.node).toBe(NODE1);
    }
    expect(nullNodes).toBe(3);
  });

  test("test_that_race_recovery_respects_generation_after_reassignment", async () => {
    const timestamp = clock.now();
    const user1 = await repo.allocateUser("test@mozilla.com", { generation: 1n, timestamp });
    const user2 = await repo.allocateUser("test@mozilla.com", { generation: 2n, timestamp: timestamp - 1n });
    expect(user1.uid).not.toBe(user2.uid);
    // Force a reassignment by marking every row replaced.
    await repo.replaceUserRecords("test@mozilla.com", timestamp + 1n);
    // The next reader gets a new row with the right generation.
    const user = (await repo.getUser("test@mozilla.com"))!;
    expect(user.generation).toBe(2n);
    expect(user.uid).not.toBe(user1.uid);
    expect(user.uid).not.toBe(user2.uid);
  });

  test("test_that_we_can_allocate_users_to_a_specific_node", async () => {
    const node = "https://phx13";
    await repo.addNode(node, 50);
    // The new node is not chosen by default: it has less capacity.
    expect((await repo.allocateUser("test1@mozilla.com")).node).not.toBe(node);
    // But it can be forced.
    expect((await repo.allocateUser("test2@mozilla.com", { node })).node).toBe(node);
  });

  test("test_that_we_can_move_users_to_a_specific_node", async () => {
    const node = "https://phx13";
    await repo.addNode(node, 50);
    let user = await repo.allocateUser("test@mozilla.com");
    expect(user.node).not.toBe(node);
    // They can be moved there explicitly.
    await repo.updateUser(user, { node });
    expect(user.node).toBe(node);
    user = (await repo.getUser("test@mozilla.com"))!;
    expect(user.node).toBe(node);
    // Client-state and generation are respected along the way.
    await repo.updateUser(user, { generation: 12n });
    await repo.updateUser(user, { clientState: "XXX" });
    await repo.updateUser(user, { generation: 42n, clientState: "YYY", node: "https://phx12" });
    const check = (u: TokenserverUser) => {
      expect(u.node).toBe("https://phx12");
      expect(u.generation).toBe(42n);
      expect(u.clientState).toBe("YYY");
      expect([...u.oldClientStates].sort()).toEqual(["", "XXX"]);
    };
    check(user);
    check((await repo.getUser("test@mozilla.com"))!);
  });

  test("test_that_record_cleanup_frees_slots_on_the_node", async () => {
    const node = "https://phx12";
    await repo.updateNode(node, { capacity: 10, available: 1, currentLoad: 9 });
    // Only one more user fits.
    const user = await repo.allocateUser("test1@mozilla.com");
    expect(user.node).toBe(node);
    await expect(repo.allocateUser("test2@mozilla.com")).rejects.toThrow("unable to get a node");
    // Cleaning up the user's record frees the slot.
    await repo.retireUser("test1@mozilla.com");
    await repo.deleteUserRecord(user.uid);
    expect((await repo.allocateUser("test2@mozilla.com")).node).toBe(node);
  });

  test("test_gradual_release_of_node_capacity", async () => {
    const node1 = "https://phx12";
    await repo.updateNode(node1, { capacity: 8, available: 1, currentLoad: 4 });
    const node2 = "https://phx13";
    await repo.addNode(node2, 6, { available: 1, currentLoad: 4 });
    // One allocation on each node without releasing anything.
    expect((await repo.allocateUser("test1@mozilla.com")).node).toBe(node1);
    expect((await repo.allocateUser("test2@mozilla.com")).node).toBe(node2);
    // The next one releases 10% more capacity: one slot on each node.
    expect((await repo.allocateUser("test3@mozilla.com")).node).toBe(node1);
    expect((await repo.allocateUser("test4@mozilla.com")).node).toBe(node2);
    // node2 is full now, so the rest go to node1...
    expect((await repo.allocateUser("test5@mozilla.com")).node).toBe(node1);
    expect((await repo.allocateUser("test6@mozilla.com")).node).toBe(node1);
    // ...until it is full too.
    await expect(repo.allocateUser("test7@mozilla.com")).rejects.toThrow("unable to get a node");
  });

  test("test_count_users", async () => {
    await repo.allocateUser("test1@example.com");
    expect(await repo.countUsers()).toBe(1n);
    const oldTimestamp = clock.now();
    clock.advance(10);
    // Adding users increases the count.
    const user = await repo.allocateUser("rfkelly@mozilla.com");
    expect(await repo.countUsers()).toBe(2n);
    // Updating a user does not.
    await repo.updateUser(user, { clientState: "aaaa" });
    expect(await repo.countUsers()).toBe(2n);
    // Looking back in time does not count newer users.
    expect(await repo.countUsers(oldTimestamp)).toBe(1n);
    // Retiring a user decreases the count.
    await repo.retireUser("test1@example.com");
    expect(await repo.countUsers()).toBe(1n);
  });

  test("test_first_seen_at", async () => {
    const EMAIL = "test1@example.com";
    const user0 = await repo.allocateUser(EMAIL);
    const user1 = (await repo.getUser(EMAIL))!;
    expect(user1.uid).toBe(user0.uid);
    expect(user1.firstSeenAt).toBe(user0.firstSeenAt);
    // It stays the same across a new row.
    clock.advance(100);
    await repo.updateUser(user1, { clientState: "aaaa" });
    const user2 = (await repo.getUser(EMAIL))!;
    expect(user2.uid).not.toBe(user0.uid);
    expect(user2.firstSeenAt).toBe(user0.firstSeenAt);
    // Until the old rows are purged.
    await repo.deleteUserRecord(user0.uid);
    const user3 = (await repo.getUser(EMAIL))!;
    expect(user3.uid).toBe(user2.uid);
    expect(user3.firstSeenAt).not.toBe(user2.firstSeenAt);
  });

  // Upstream inspects the SQL text of _build_old_user_query; we check the same rules on real rows.
  test("test_build_old_range", async () => {
    const uids: bigint[] = [];
    for (const n of [1, 2, 3, 4]) {
      const user = await repo.allocateUser(`range${n}@mozilla.com`);
      await repo.replaceUserRecord(user.uid);
      uids.push(user.uid);
    }
    const [u1, u2, u3, u4] = uids as [bigint, bigint, bigint, bigint];
    const select = async (uidRange: Parameters<typeof repo.getOldUserRecords>[0]["uidRange"]) =>
      (await repo.getOldUserRecords({ gracePeriod: 0, uidRange })).map((r) => r.uid).sort(byValue);

    // No range: no bounds.
    expect(await select(null)).toEqual(uids);
    expect(await select(undefined)).toEqual(uids);
    // (None, end): only "uid < end", exclusive; the CLI passes strings.
    expect(await select([null, String(u3)])).toEqual([u1, u2]);
    // (start, end): both, both exclusive.
    expect(await select([String(u1), String(u4)])).toEqual([u2, u3]);
    expect(await select([u2, null])).toEqual([u3, u4]);
    // Only truthy bounds apply: the string "0" does (uid > 0), "" and 0n do not.
    expect(await select(["0", String(u2)])).toEqual([u1]);
    expect(await select(["", String(u2)])).toEqual([u1]);
    expect(await select([0n, u2])).toEqual([u1]);
    // A bound is bound as given: a non-numeric string reaches PostgreSQL and fails there, as upstream.
    await expect(select([null, "abcd"])).rejects.toThrow();
    // Upstream builds invalid SQL from a range with no bounds at all.
    await expect(select([null, null])).rejects.toThrow("uid range has neither a start nor an end");
    // The backlog count ignores the range.
    expect(await repo.countOldUserRecords(0)).toBe(4n);
  });
});

describe("beyond test_database.py", () => {
  test("generation 2^63-1 round-trips", async () => {
    const user = await repo.allocateUser("max@mozilla.com", {
      generation: MAX_GENERATION,
      keysChangedAt: MAX_GENERATION,
    });
    expect(user.generation).toBe(9223372036854775807n);
    const read = (await repo.getUser("max@mozilla.com"))!;
    expect(read.generation).toBe(MAX_GENERATION);
    expect(read.keysChangedAt).toBe(MAX_GENERATION);
    expect(read.uid).toBe(user.uid);

    await repo.allocateUser("retired@mozilla.com");
    await repo.retireUser("retired@mozilla.com");
    const [old] = await repo.getOldUserRecords({ gracePeriod: 0 });
    expect(old!.generation).toBe(MAX_GENERATION);
    const [row] = await sql<{ generation: bigint }[]>`select generation from users where email = 'retired@mozilla.com'`;
    expect(row!.generation).toBe(MAX_GENERATION);
  });

  test("get_best_node adds the user to the node's load", async () => {
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 10, currentLoad: 0 });
    const best = await repo.getBestNode();
    expect(best).toEqual({ id: await repo.getNodeId(DEFAULT_NODE), node: DEFAULT_NODE });
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 9, currentLoad: 1 });
    // An explicit node is not load-accounted.
    await repo.allocateUser("explicit@mozilla.com", { node: DEFAULT_NODE });
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 9, currentLoad: 1 });
  });

  test("get_best_node gives up after five releases that free nothing", async () => {
    // 10 * 0.01 rounds to 0: each release changes the row but frees no slot.
    const stingy = db.createRepo({ capacityReleaseRate: 0.01 });
    await stingy.updateNode(DEFAULT_NODE, { capacity: 10, available: 0, currentLoad: 5 });
    await expect(stingy.getBestNode()).rejects.toThrow("unable to get a node");
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 0, currentLoad: 5 });
  });

  test("release rounds half away from zero, like the original's numeric rate", async () => {
    // capacity 5 * 0.1 = 0.5 -> 1 slot.
    await repo.updateNode(DEFAULT_NODE, { capacity: 5, available: 0, currentLoad: 2 });
    expect((await repo.getBestNode()).node).toBe(DEFAULT_NODE);
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 0, currentLoad: 3 });
  });

  test("a node with capacity 1 and no load is allocatable (ln(NULL) sorts first)", async () => {
    await repo.updateNode(DEFAULT_NODE, { capacity: 1, available: 1, currentLoad: 0 });
    expect((await repo.allocateUser("one@mozilla.com")).node).toBe(DEFAULT_NODE);
    await expect(repo.allocateUser("two@mozilla.com")).rejects.toThrow("unable to get a node");
  });

  test("spanner mode: every user goes to the spanner node, with no load accounting", async () => {
    const nodeId = await repo.getNodeId(DEFAULT_NODE);
    const spanner = db.createRepo({ spannerNodeId: String(nodeId) });
    await spanner.checkSchema();
    // Downed and full does not matter: the spanner node is not chosen by load.
    await repo.updateNode(DEFAULT_NODE, { downed: 1, available: 0 });
    expect(await spanner.getBestNode()).toEqual({ id: nodeId, node: DEFAULT_NODE });
    const user = await spanner.allocateUser("spanner@mozilla.com");
    expect(user.node).toBe(DEFAULT_NODE);
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 0, currentLoad: 0 });
    const [row] = await sql<{ nodeid: bigint }[]>`select nodeid from users where uid = ${user.uid}`;
    expect(row!.nodeid).toBe(nodeId);
  });

  test("spanner mode: an unknown node id is refused", async () => {
    const spanner = db.createRepo({ spannerNodeId: "999999" });
    await expect(spanner.checkSchema()).rejects.toThrow("unknown node: 999999");
    await expect(spanner.getBestNode()).rejects.toThrow("unknown node: 999999");
  });

  test("spanner mode: an empty node id is no spanner node", async () => {
    const plain = db.createRepo({ spannerNodeId: "" });
    await plain.getBestNode();
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 9, currentLoad: 1 });
  });

  test("delete_user_record frees the node slot, except in spanner mode", async () => {
    const user = await repo.allocateUser("free@mozilla.com");
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 9, currentLoad: 1 });
    await repo.deleteUserRecord(user.uid);
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 10, currentLoad: 0 });
    expect(await repo.getUserRecords("free@mozilla.com")).toEqual([]);

    const spanner = db.createRepo({ spannerNodeId: String(await repo.getNodeId(DEFAULT_NODE)) });
    await repo.updateNode(DEFAULT_NODE, { available: 3, currentLoad: 5 });
    const spannerUser = await spanner.allocateUser("spanner@mozilla.com");
    await spanner.deleteUserRecord(spannerUser.uid);
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 3, currentLoad: 5 });
    expect(await spanner.getUserRecords("spanner@mozilla.com")).toEqual([]);
  });

  test("a nodeless row frees nothing and is deleted", async () => {
    await repo.addNode("https://phx13", 100);
    const user = await repo.allocateUser("gone@mozilla.com", { node: "https://phx13" });
    await deleteNode(sql, await repo.getNodeId("https://phx13"));
    await repo.deleteUserRecord(user.uid);
    expect(await repo.getUserRecords("gone@mozilla.com")).toEqual([]);
    expect(await nodeState(DEFAULT_NODE)).toEqual({ available: 10, currentLoad: 0 });
  });

  test("get_user reallocates an active row whose node was deleted", async () => {
    await repo.addNode("https://phx13", 100);
    const user = await repo.allocateUser("gone@mozilla.com", { node: "https://phx13", clientState: "aa" });
    await deleteNode(sql, await repo.getNodeId("https://phx13"));
    const read = (await repo.getUser("gone@mozilla.com"))!;
    expect(read.uid).not.toBe(user.uid);
    expect(read.node).toBe(DEFAULT_NODE);
    expect(read.clientState).toBe("aa");
    // The nodeless row was the current one, so it is left active; the next read sees the newer row
    // first and marks the old one replaced at that row's creation time.
    const summary = async () =>
      (await repo.getUserRecords("gone@mozilla.com")).map((r) => [r.uid, r.node, r.replacedAt]);
    expect(await summary()).toEqual([
      [user.uid, null, null],
      [read.uid, DEFAULT_NODE, null],
    ]);
    const again = (await repo.getUser("gone@mozilla.com"))!;
    expect(again.uid).toBe(read.uid);
    expect(again.firstSeenAt).toBe(user.firstSeenAt);
    expect(await summary()).toEqual([
      [user.uid, null, read.firstSeenAt],
      [read.uid, DEFAULT_NODE, null],
    ]);
  });

  test("a retired user whose node was deleted keeps no node and is not reallocated", async () => {
    await repo.addNode("https://phx13", 100);
    const user = await repo.allocateUser("gone@mozilla.com", { node: "https://phx13" });
    await repo.retireUser("gone@mozilla.com");
    await deleteNode(sql, await repo.getNodeId("https://phx13"));
    const read = (await repo.getUser("gone@mozilla.com"))!;
    expect(read.uid).toBe(user.uid);
    expect(read.node).toBe("");
    expect(read.generation).toBe(MAX_GENERATION);
    // Upstream fails with a TypeError here (None in the error message).
    await expect(repo.updateUser(read, { clientState: "bb" })).rejects.toThrow(TypeError);
  });

  test("keys_changed_at NULL is kept NULL where the original keeps None", async () => {
    const kcaOf = async (uid: bigint) =>
      (await sql<{ keys_changed_at: bigint | null }[]>`select keys_changed_at from users where uid = ${uid}`)[0]!
        .keys_changed_at;
    const user = await repo.allocateUser("null@mozilla.com", { generation: 12n, keysChangedAt: null });
    expect(await kcaOf(user.uid)).toBeNull();
    expect(user.keysChangedAt).toBe(0n);
    expect(user.keysChangedAtIsNull).toBe(true);
    // get_user reports `keys_changed_at or 0`.
    const read = (await repo.getUser("null@mozilla.com"))!;
    expect(read.keysChangedAt).toBe(0n);
    expect(read.keysChangedAtIsNull).toBeUndefined();
    // A re-allocation copies the NULL column raw...
    await repo.replaceUserRecords("null@mozilla.com");
    const moved = (await repo.getUser("null@mozilla.com"))!;
    expect(moved.uid).not.toBe(read.uid);
    expect(await kcaOf(moved.uid)).toBeNull();
    expect(moved.keysChangedAtIsNull).toBe(true);
    // ...an in-place update without keys_changed_at leaves it alone...
    await repo.updateUser(moved, { generation: 13n });
    expect(await kcaOf(moved.uid)).toBeNull();
    expect(moved.generation).toBe(13n);
    expect(moved.keysChangedAtIsNull).toBe(true);
    // ...a new row without one stays NULL...
    await repo.updateUser(moved, { clientState: "abcdef" });
    expect(await kcaOf(moved.uid)).toBeNull();
    // ...and the first real value replaces it (SYNC-3633).
    await repo.updateUser(moved, { generation: 14n, clientState: "fedcba", keysChangedAt: 13n });
    expect(await kcaOf(moved.uid)).toBe(13n);
    expect(moved.keysChangedAt).toBe(13n);
    expect(moved.keysChangedAtIsNull).toBeUndefined();
    expect((await repo.getUser("null@mozilla.com"))!.generation).toBe(14n);
  });

  test("update in place never moves keys_changed_at backwards", async () => {
    const user = await repo.allocateUser("kca@mozilla.com", { generation: 10n, keysChangedAt: 10n });
    // A lower keys_changed_at fails the WHERE: nothing changes in the row, memory keeps the max.
    await repo.updateUser(user, { generation: 20n, keysChangedAt: 5n });
    expect(user.generation).toBe(20n);
    expect(user.keysChangedAt).toBe(10n);
    const read = (await repo.getUser("kca@mozilla.com"))!;
    expect(read.generation).toBe(10n);
    expect(read.keysChangedAt).toBe(10n);
  });

  test("the old-record cut-off is strict", async () => {
    const user = await repo.allocateUser("cutoff@mozilla.com");
    const at = clock.peek();
    await repo.replaceUserRecord(user.uid, at);
    // The next reading is `at` itself: a row replaced in that millisecond is not old yet.
    expect(await repo.getOldUserRecords({ gracePeriod: 0 })).toHaveLength(0);
    expect(await repo.countOldUserRecords(0)).toBe(1n); // one ms later
    expect(await repo.getOldUserRecords({ gracePeriod: 0 })).toHaveLength(1);
  });

  test("retire_user and count_users ignore the service, as upstream", async () => {
    const other = await insertService(sql, "sync-1.1", "{node}/1.1/{uid}");
    const nodeId = await repo.getNodeId(DEFAULT_NODE);
    await sql`insert into users (service, email, nodeid, generation, client_state, created_at)
              values (${other}, 'both@mozilla.com', ${nodeId}, 1, '', 1)`;
    await repo.allocateUser("both@mozilla.com");
    expect(await repo.countUsers()).toBe(2n);
    await repo.retireUser("both@mozilla.com");
    const rows = await sql<{ generation: bigint; replaced_at: bigint | null }[]>`
      select generation, replaced_at from users where email = 'both@mozilla.com'`;
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.generation).toBe(MAX_GENERATION);
      expect(row.replaced_at).not.toBeNull();
    }
    expect(await repo.countUsers()).toBe(0n);
  });

  test("unassign_node re-marks every row on the node, replaced or not", async () => {
    const user = await repo.allocateUser("un@mozilla.com");
    await repo.replaceUserRecord(user.uid, 5n);
    const before = clock.peek();
    await repo.unassignNode(DEFAULT_NODE);
    const [record] = await repo.getUserRecords("un@mozilla.com");
    expect(record!.replacedAt).toBe(before);
    await expect(repo.unassignNode("https://nope")).rejects.toThrow("unknown node: https://nope");
  });

  test("node administration", async () => {
    const id = await repo.addNode("https://phx13", 7, { currentLoad: 2, downed: true });
    expect(await repo.getNode("https://phx13")).toEqual({
      id,
      service: await repo.serviceId(),
      node: "https://phx13",
      available: 1, // ceil(7 * 0.1)
      currentLoad: 2,
      capacity: 7,
      downed: 1,
      backoff: 0,
    });
    expect(await repo.getNodeId("https://phx13")).toBe(id);
    expect(await repo.getNode("https://nope")).toBeNull();
    await expect(repo.getNodeId("https://nope")).rejects.toThrow("unknown node: https://nope");

    await repo.updateNode("https://phx13", {
      capacity: 150,
      available: 125,
      currentLoad: 25,
      downed: false,
      backoff: true,
    });
    expect(await repo.getNode("https://phx13")).toMatchObject({
      capacity: 150,
      available: 125,
      currentLoad: 25,
      downed: 0,
      backoff: 1,
    });
    await expect(repo.updateNode("https://phx13", {})).rejects.toThrow("no node fields to update");
    await expect(
      repo.updateNode("https://phx13", { nope: 1 } as unknown as Parameters<typeof repo.updateNode>[1]),
    ).rejects.toThrow("unknown fields: nope");

    // The release rate sets a new node's initial availability; an explicit id is honoured.
    const generous = db.createRepo({ capacityReleaseRate: 0.5 });
    expect(await generous.addNode("https://phx14", 7, { nodeId: 800n })).toBe(800n);
    expect((await repo.getNode("https://phx14"))!.available).toBe(4);

    await repo.removeNode("https://phx13");
    expect(await repo.getNode("https://phx13")).toBeNull();
    await expect(repo.removeNode("https://phx13")).rejects.toThrow("unknown node: https://phx13");
  });

  test("check_schema", async () => {
    await repo.checkSchema();
    const missing = createTokenserverRepository(unmigrated.sql);
    await expect(missing.checkSchema()).rejects.toThrow("missing table(s) services, nodes, users");
    await sql`delete from services`;
    await expect(db.createRepo().checkSchema()).rejects.toThrow("unknown service: sync-1.5");
    await expect(db.createRepo().serviceId()).rejects.toThrow("unknown service: sync-1.5");
  });
});
