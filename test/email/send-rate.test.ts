// The send counters in PostgreSQL (email_send_take, migration 3) under concurrency from several
// connections, the sweep of ended windows, and the per-tick batching of the checks.
import { beforeEach, describe, expect, test } from "bun:test";
import { createSql } from "../../src/db/client.ts";
import { deleteEndedCounters, takeSends, type TakeEntry } from "../../src/email/caller-store.ts";
import { createEmailTestDb } from "../support/email.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 29, 10, 20, 0);

// Deterministic pseudo-random choices, so a failure can be replayed.
let seed = 7;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

const countsNow = async () =>
  new Map((await db.sql<{ caller: string; address: string; count: number }[]>`select split_part(key, E'\n', 1) as caller, substr(key, strpos(key, E'\n') + 1) as address, count from email_send_counters`).map((r) => [`${r.caller}|${r.address}`, r.count]));

describe("email_send_take", () => {
  test("8 connections, batches over overlapping counters in any order: no deadlock, counts are exactly what was admitted, and a refusal means full", async () => {
    const OWN = 60;
    const PER_RECIPIENT = 12;
    const addresses = ["a", "b", "c", "d", "e", "f", "g", "h"].map((x) => `${x}@example.com`);
    const clients = Array.from({ length: 8 }, () => createSql(db.url, { max: 1 }));
    const admitted: TakeEntry[][] = [];
    const refused: TakeEntry[][] = [];
    try {
      await Promise.all(
        clients.map(async (sql) => {
          for (let batch = 0; batch < 15; batch++) {
            const requests = Array.from({ length: 8 }, () => {
              const picked = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => addresses[Math.floor(random() * addresses.length)]!))];
              // Entries in no particular order: the function orders its locks itself.
              return [
                ...picked.map((address) => ({ caller: "web", address, limit: PER_RECIPIENT, periodMs: HOUR })),
                { caller: "web", address: "", limit: OWN, periodMs: HOUR },
              ].sort(() => random() - 0.5);
            });
            const { results } = await takeSends(sql, requests, T0 + batch);
            results.forEach((r, i) => (r.taken ? admitted : refused).push(requests[i]!));
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const counts = await countsNow();
    const expected = new Map<string, number>();
    for (const entries of admitted) for (const e of entries) expected.set(`${e.caller}|${e.address}`, (expected.get(`${e.caller}|${e.address}`) ?? 0) + 1);
    for (const [key, count] of expected) expect({ key, count: counts.get(key) }).toEqual({ key, count });
    expect(counts.get("web|")).toBe(admitted.length);
    expect(admitted.length).toBeLessThanOrEqual(OWN);
    for (const address of addresses) expect(counts.get(`web|${address}`) ?? 0).toBeLessThanOrEqual(PER_RECIPIENT);
    // Counters only grow within a window, so every refused request must have met a full counter.
    expect(refused.length).toBeGreaterThan(0);
    for (const entries of refused) {
      expect(entries.some((e) => counts.get(`${e.caller}|${e.address}`) === e.limit)).toBe(true);
    }
  });

  test("a refused request reports the first refusing entry and the wait until every refusing window ends", async () => {
    const own = { caller: "api", address: "", limit: 1, periodMs: 60_000 };
    const recipient = { caller: "api", address: "x@example.com", limit: 1, periodMs: HOUR };
    expect((await takeSends(db.sql, [[own, recipient]], T0)).results).toEqual([{ taken: true, refusedEntry: null, retryAfterMs: 0 }]);
    // Both full: the minute ends in 60 s, the hour in 40 minutes; the request waits for the later.
    expect((await takeSends(db.sql, [[own, recipient]], T0 + 1)).results).toEqual([{ taken: false, refusedEntry: 0, retryAfterMs: 40 * 60_000 - 1 }]);
    // Within one batch, requests are taken in order: the second one sees the first one's count.
    const fresh = { caller: "api", address: "y@example.com", limit: 1, periodMs: HOUR };
    expect((await takeSends(db.sql, [[fresh], [fresh], []], T0)).results.map((r) => r.taken)).toEqual([true, false, true]);
    expect(await countsNow()).toEqual(new Map([["api|", 1], ["api|x@example.com", 1], ["api|y@example.com", 1]]));
  });

  test("the sweep deletes only ended windows; an ended window counts as zero either way", async () => {
    const minute = { caller: "web", address: "", limit: 1, periodMs: 60_000 };
    const hour = { caller: "web", address: "z@example.com", limit: 1, periodMs: HOUR };
    await takeSends(db.sql, [[minute, hour]], T0);
    expect(await deleteEndedCounters(db.sql, T0 + 59_999)).toBe(0);
    expect((await takeSends(db.sql, [[minute]], T0 + 60_000)).results[0]!.taken).toBe(true); // new minute, row still there
    expect(await deleteEndedCounters(db.sql, T0 + 120_000)).toBe(1);
    expect(await countsNow()).toEqual(new Map([["web|z@example.com", 1]]));
    expect((await takeSends(db.sql, [[minute]], T0 + 120_000)).results[0]!.taken).toBe(true);
  });
});

describe("email_send_counters", () => {
  test("is unlogged (migration 4): a take writes no WAL and waits for no flush", async () => {
    const [row] = await db.sql<{ relpersistence: string }[]>`select relpersistence from pg_class where relname = 'email_send_counters'`;
    expect(row!.relpersistence).toBe("u");
  });
});

describe("arrayLiteral", () => {
  test("any text survives the round trip, on a connection's first query", async () => {
    const { arrayLiteral } = await import("../../src/db/array-literal.ts");
    const values = ["", "a,b", 'q"uote', "back\\slash", "{brace}", "NULL", "new\nline", "é ✓", " spaced "];
    const fresh = createSql(db.url, { max: 1 });
    try {
      const [row] = await fresh<{ v: string[] }[]>`select ${arrayLiteral(values)}::text[] as v`;
      expect(row!.v).toEqual(values);
      const [ints] = await fresh<{ v: number[] }[]>`select ${arrayLiteral([1, -2, 2147483647])}::int[] as v`;
      expect(ints!.v).toEqual([1, -2, 2147483647]);
    } finally {
      await fresh.end();
    }
  });
});
