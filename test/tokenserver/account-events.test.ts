// process_account_events: the 12 upstream cases (spec/tokenserver.md §7.1), the edge cases of §3.5 and
// our deliberate differences, against real PostgreSQL.
import { beforeEach, describe, expect, test } from "bun:test";
import { decodeAccountEvent } from "../../src/tokenserver/account-event.ts";
import { applyAccountEvent } from "../../src/tokenserver/account-events.ts";
import { settleFailure } from "../../src/sqs/consumer.ts";
import { createTokenserverRepository } from "../../src/tokenserver/repository.ts";
import { MAX_GENERATION } from "../../src/tokenserver/types.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { createTokenserverTestDb } from "../support/tokenserver.ts";

const EMAIL = "test@example.com";
const UID = "test";
const ISS = "example.com";
const messageBody = (event: Record<string, unknown>) => JSON.stringify({ Message: JSON.stringify(event) });

const db = await createTokenserverTestDb();
let captured = captureLog();
let metrics = recordingMetrics();

beforeEach(async () => {
  await db.reset();
  captured = captureLog();
  metrics = recordingMetrics();
});

/** One event as the consumer runs it: an unprocessable one is settled by the consumer's own rule. */
async function processEvent(body: string, repo = db.repo) {
  try {
    return await applyAccountEvent(decodeAccountEvent(body), { repo, metrics, log: captured.log }, "msg-1");
  } catch (error) {
    if (settleFailure(error, { MessageId: "msg-1" }, captured.log) === "delete") return "invalid";
    throw error;
  }
}

const records = (email = EMAIL) => db.repo.getUserRecords(email);

describe("upstream test_process_account_events.py", () => {
  async function userWithTwoRecords() {
    await db.repo.allocateUser(EMAIL, { timestamp: 1000n });
    const user = (await db.repo.getUser(EMAIL))!;
    await db.repo.updateUser(user, { clientState: "abcdef" });
    const rows = await records();
    expect(rows.length).toBe(2);
    expect(rows[0]!.replacedAt).not.toBeNull();
  }

  test("1 test_delete_user", async () => {
    await userWithTwoRecords();
    await processEvent(messageBody({ event: "delete", uid: UID, iss: ISS }));
    const rows = await records();
    expect(rows.length).toBe(2);
    for (const row of rows) expect(row.replacedAt).not.toBeNull();
  });

  test("2 test_delete_user_by_legacy_uid_format", async () => {
    await userWithTwoRecords();
    await processEvent(messageBody({ event: "delete", uid: EMAIL }));
    const rows = await records();
    expect(rows.length).toBe(2);
    for (const row of rows) expect(row.replacedAt).not.toBeNull();
  });

  test("3 test_delete_user_who_is_not_in_the_db", async () => {
    expect((await records()).length).toBe(0);
    await processEvent(messageBody({ event: "delete", uid: UID, iss: ISS }));
    expect((await records()).length).toBe(0);
  });

  test("4 test_reset_user", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }));
    expect((await db.repo.getUser(EMAIL))!.generation).toBe(42n);
  });

  test("5 test_reset_user_by_legacy_uid_format", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    await processEvent(messageBody({ event: "reset", uid: EMAIL, generation: 43 }));
    expect((await db.repo.getUser(EMAIL))!.generation).toBe(42n);
  });

  test("6 test_reset_user_who_is_not_in_the_db", async () => {
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }));
    expect((await records()).length).toBe(0);
  });

  test("7 test_password_change", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    await processEvent(messageBody({ event: "passwordChange", uid: UID, iss: ISS, generation: 43 }));
    expect((await db.repo.getUser(EMAIL))!.generation).toBe(42n);
  });

  test("8 test_password_change_user_not_in_db", async () => {
    await processEvent(messageBody({ event: "passwordChange", uid: UID, iss: ISS, generation: 43 }));
    expect((await records()).length).toBe(0);
  });

  test("9 test_malformed_events", async () => {
    const steps: [string, string][] = [
      [messageBody({ event: "party", uid: UID, iss: ISS, generation: 43 }), "Dropping unknown event type"],
      [messageBody({ uid: UID, iss: ISS, generation: 43 }), "Invalid account message"],
      [messageBody({ event: "delete", iss: ISS, generation: 43 }), "Invalid account message"],
      [messageBody({ event: "reset", uid: UID, iss: ISS }), "Invalid account message"],
      [messageBody({ event: "passwordChange", uid: UID, iss: ISS }), "Invalid account message"],
      [messageBody({ event: "delete", uid: UID }), "Invalid account message"],
      ["wat", "Invalid account message"],
      [JSON.stringify({ Message: "wat" }), "Invalid account message"],
      ['{ "Message": "[1, 2, 3"] }', "Invalid account message"],
    ];
    for (const [body, expected] of steps) {
      captured.clear();
      await processEvent(body);
      expect(captured.messages().some((m) => m.includes(expected))).toBe(true);
    }
    expect((await records()).length).toBe(0);
  });

  test("10 test_update_with_no_keys_changed_at", async () => {
    const user = await db.repo.allocateUser(EMAIL, { generation: 12n, keysChangedAt: null, timestamp: 1000n });
    await db.repo.updateUser(user, { generation: 13n });
    await db.repo.updateUser(user, { generation: 14n, clientState: "abcdef", keysChangedAt: 13n });
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }));
    expect((await db.repo.getUser(EMAIL))!.generation).toBe(42n);
  });

  test("11 test_update_with_no_keys_changed_at2", async () => {
    const user = await db.repo.allocateUser(EMAIL, { generation: 12n, keysChangedAt: null, timestamp: 1000n });
    await db.repo.replaceUserRecord(user.uid);
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }));
    expect((await db.repo.getUser(EMAIL))!.generation).toBe(42n);
  });

  test("12 test_delete_user_force_spanner", async () => {
    const spannerNodeId = String(await db.repo.getNodeId("https://phx12"));
    const repo = createTokenserverRepository(db.sql, { spannerNodeId });
    await repo.allocateUser(EMAIL, { timestamp: 1000n });
    const user = (await repo.getUser(EMAIL))!;
    await repo.updateUser(user, { clientState: "abcdef" });
    await processEvent(messageBody({ event: "delete", uid: UID, iss: ISS }), repo);
    const rows = await records();
    expect(rows.length).toBe(2);
    for (const row of rows) expect(row.replacedAt).not.toBeNull();
  });
});

describe("edge cases of §3.5", () => {
  const generations = async () =>
    (await db.sql`select generation, replaced_at from users where email = ${EMAIL} order by uid`).map((r) => ({ ...r }));

  test("delete retires every active row (generation 2^63-1) on every service; metric delete", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 5n });
    await db.sql`insert into users (service, email, nodeid, generation, client_state, created_at) values (999, ${EMAIL}, 1, 7, '', 1)`;
    expect(await processEvent(messageBody({ event: "delete", uid: UID, iss: ISS }))).toBe("delete");
    const rows = await generations();
    expect(rows.length).toBe(2);
    for (const row of rows) {
      expect(row.generation).toBe(MAX_GENERATION);
      expect(row.replaced_at).not.toBeNull();
    }
    expect(metrics.calls.map((c) => c.name)).toEqual(["delete"]);
    expect(captured.messages()).toContain("Processing account delete for 'test@example.com'");
  });

  test("reset emits decr_generation then reset; log line as the original", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }));
    expect(metrics.calls.map((c) => c.name)).toEqual(["decr_generation", "reset"]);
    expect(captured.messages()).toContain("Processing account reset for 'test@example.com'");
  });

  test("reset for a missing user: no change, metric reset only", async () => {
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }));
    expect(metrics.calls.map((c) => c.name)).toEqual(["reset"]);
  });

  test("generation never moves backwards (gen 10 or 13 against 12)", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 10 }));
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 13 }));
    expect((await generations()).map((r) => r.generation)).toEqual([12n]);
    expect(metrics.count("decr_generation")).toBe(2);
  });

  test("passwordChange on a retired user changes nothing", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    await db.repo.retireUser(EMAIL);
    await processEvent(messageBody({ event: "passwordChange", uid: UID, iss: ISS, generation: 43 }));
    const rows = await generations();
    expect(rows.length).toBe(1);
    expect(rows[0]!.generation).toBe(MAX_GENERATION);
    expect(captured.messages()).toContain("Processing password change for 'test@example.com'");
  });

  test("reset when the current row is replaced (not retired) allocates a new active row at G-1", async () => {
    const user = await db.repo.allocateUser(EMAIL, { generation: 12n, clientState: "aa", keysChangedAt: 5n });
    await db.repo.replaceUserRecord(user.uid);
    await processEvent(messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }));
    const rows = await db.sql`select generation, client_state, keys_changed_at, replaced_at from users where email = ${EMAIL} order by uid`;
    expect(rows.length).toBe(2);
    expect({ ...rows[1] }).toEqual({ generation: 42n, client_state: "aa", keys_changed_at: 5n, replaced_at: null });
  });

  test("unknown types are logged at warning with the Python repr and counted as unknown", async () => {
    await processEvent(messageBody({ event: "party", uid: UID, iss: ISS }));
    await processEvent(messageBody({ event: null, uid: UID, iss: ISS }));
    const warnings = captured.lines.filter((l) => l.severity === 4).map((l) => l.msg);
    expect(warnings).toEqual(["Dropping unknown event type 'party'", "Dropping unknown event type None"]);
    expect(metrics.calls.map((c) => c.name)).toEqual(["unknown", "unknown"]);
  });

  test("the original's TypeError inputs are invalid: logged with the message id, counted, nothing written", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    const before = await generations();
    for (const body of [
      "[1,2]", '"hello"', JSON.stringify({ Message: "123" }), JSON.stringify({ Message: { event: "delete", uid: EMAIL } }),
      messageBody({ event: "delete", uid: 123 }),
      messageBody({ event: "reset", uid: UID, iss: ISS, generation: null }),
      messageBody({ event: "reset", uid: UID, iss: ISS, generation: "43" }),
      messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43.7 }),
    ]) {
      expect(await processEvent(body)).toBe("invalid");
    }
    expect(await generations()).toEqual(before);
    expect(metrics.count("invalid")).toBe(8);
    const errors = captured.lines.filter((l) => l.severity === 3);
    expect(errors.length).toBe(8);
    for (const e of errors) {
      expect(e.msg.startsWith("Invalid account message: ")).toBe(true);
      expect(e.fields.messageId).toBe("msg-1");
    }
  });

  test("uid 123 with iss is processed as 123@example.com; iss null gives test@None", async () => {
    await db.repo.allocateUser("123@example.com", { generation: 1n });
    await db.repo.allocateUser("test@None", { generation: 1n });
    await processEvent(messageBody({ event: "delete", uid: 123, iss: ISS }));
    await processEvent(messageBody({ event: "delete", uid: UID, iss: null }));
    const rows = await db.sql`select email from users where generation = ${MAX_GENERATION} order by email`;
    expect(rows.map((r) => r.email)).toEqual(["123@example.com", "test@None"]);
  });

  test("handlers are idempotent: the same events twice leave the same state as once", async () => {
    await db.repo.allocateUser(EMAIL, { generation: 12n });
    await db.repo.allocateUser("other@example.com", { generation: 3n });
    const events = [
      messageBody({ event: "reset", uid: UID, iss: ISS, generation: 43 }),
      messageBody({ event: "passwordChange", uid: UID, iss: ISS, generation: 50 }),
      messageBody({ event: "delete", uid: "other", iss: ISS }),
    ];
    for (const e of events) await processEvent(e);
    const once = (await db.sql`select uid, email, generation, replaced_at is null as active from users order by uid`).map((r) => ({ ...r }));
    for (const e of events) await processEvent(e);
    const twice = (await db.sql`select uid, email, generation, replaced_at is null as active from users order by uid`).map((r) => ({ ...r }));
    expect(twice).toEqual(once);
    expect(once.find((r) => r.email === EMAIL)!.generation).toBe(49n);
  });
});
