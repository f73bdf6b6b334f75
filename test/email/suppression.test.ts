// suppression.ts beyond what GET/DELETE /bounces show: an address's whole history page by page (keyset
// on created_at, id), the newest records of every address (keyset on the id), cursors that are not ours
// refused as 400s, and a clear logged with who did it.
import { beforeEach, describe, expect, test } from "bun:test";
import { insertBounce } from "../../src/email/bounce-store.ts";
import { EmailError } from "../../src/email/errors.ts";
import { addressHistory, clearAddress, recentRecords, type SuppressionDeps } from "../../src/email/suppression.ts";
import { captureLog } from "../support/log.ts";
import { createEmailTestDb, DEFAULT_LIMITS } from "../support/email.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());
const NOW = Date.UTC(2026, 0, 15, 12);

function deps(): SuppressionDeps & { captured: ReturnType<typeof captureLog> } {
  const captured = captureLog();
  return { sql: db.sql, log: captured.log, limits: DEFAULT_LIMITS, now: () => NOW, captured };
}

describe("addressHistory", () => {
  test("every record newest first, pages joined by their cursor, equal timestamps kept apart by id", async () => {
    // 45 records, three per millisecond: a cursor on created_at alone would skip or repeat some.
    for (let i = 0; i < 45; i += 1) await insertBounce(db.sql, { email: "many@example.com", bounceType: 2, bounceSubType: 5, createdAt: NOW - Math.floor(i / 3) * 1000 });
    await insertBounce(db.sql, { email: "other@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW });
    const d = deps();
    const ids: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await addressHistory(d, "many@example.com", { limit: 20, ...(after ? { after } : {}) });
      ids.push(...page.records.map((r) => r.id));
      expect(page.records.every((r) => r.email === "many@example.com" && r.problem === "soft" && r.subtype === "MailboxFull")).toBe(true);
      after = page.next;
      pages += 1;
    } while (after);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(45);
    const [{ all }] = await db.sql<[{ all: string[] }]>`select array_agg(id::text order by created_at desc, id desc) as all from email_bounces where email = 'many@example.com'`;
    expect(ids).toEqual(all);
  });

  test("an exact page has no next; a cursor that is not ours is a 400", async () => {
    await insertBounce(db.sql, { email: "one@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW });
    expect(await addressHistory(deps(), "one@example.com", { limit: 1 })).toEqual({ records: [expect.objectContaining({ email: "one@example.com" })] });
    for (const bad of ["x", "1", "1.0", "-1.2", "1.2.3", `${"9".repeat(17)}.1`, "1.99999999999999999999"]) {
      const error = await addressHistory(deps(), "one@example.com", { limit: 1, after: bad }).catch((e: unknown) => e);
      expect(error instanceof EmailError && error.status === 400, bad).toBe(true);
    }
  });
});

describe("recentRecords", () => {
  test("newest recorded first across addresses, paged by id; a bad cursor is a 400", async () => {
    for (let i = 0; i < 7; i += 1) await insertBounce(db.sql, { email: `a${i}@example.com`, bounceType: 3, bounceSubType: 9, createdAt: NOW - i });
    const first = await recentRecords(deps(), { limit: 5 });
    expect(first.records.map((r) => r.email)).toEqual(["a6@example.com", "a5@example.com", "a4@example.com", "a3@example.com", "a2@example.com"]);
    const second = await recentRecords(deps(), { limit: 5, after: first.next! });
    expect(second.records.map((r) => r.email)).toEqual(["a1@example.com", "a0@example.com"]);
    expect(second.next).toBeUndefined();
    const error = await recentRecords(deps(), { limit: 5, after: "0" }).catch((e: unknown) => e);
    expect(error instanceof EmailError && error.status === 400).toBe(true);
  });
});

describe("clearAddress", () => {
  test("deletes the address's records only, and logs who did it", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW });
    await insertBounce(db.sql, { email: "baz@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW });
    const d = deps();
    expect(await clearAddress(d, "bar@example.com", "alice")).toEqual({ address: "bar@example.com", deleted: 1 });
    expect(d.captured.lines.find((l) => l.msg === "Bounce records cleared")?.fields).toMatchObject({ address: "bar@example.com", deleted: 1, actor: "alice" });
    const rows = await db.sql<{ email: string }[]>`select email from email_bounces`;
    expect(rows.map((r) => r.email)).toEqual(["baz@example.com"]);
  });
});
