// Leases on send counters (src/email/send-lease.ts) against real PostgreSQL: several gates (instances)
// on one database never admit more than the limit between them, every admitted send was counted before
// it was admitted, and what leases leave unused is bounded by 0.1% of the limit per instance.
import { beforeEach, describe, expect, test } from "bun:test";
import { createSql } from "../../src/db/client.ts";
import type { CallerLimits } from "../../src/email/callers.ts";
import { leaseSize, LEASE_MIN_LIMIT, sendLeases } from "../../src/email/send-lease.ts";
import { sendRateGate } from "../../src/email/send-rate.ts";
import { createEmailTestDb } from "../support/email.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 29, 10, 20, 0);

const counted = async (key: string) =>
  (await db.sql<{ count: number }[]>`select count from email_send_counters where key = ${key}`)[0]?.count ?? 0;

const caller = (limit: number, recipientLimit?: number): CallerLimits => ({
  name: "web",
  rate: { limit, period: "minute", periodMs: MINUTE },
  ...(recipientLimit ? { recipientRate: { limit: recipientLimit, period: "minute", periodMs: MINUTE } } : {}),
});

describe("leaseSize", () => {
  test("0.1% of the limit from 1,000 per window, at most 1,000; below that nothing is leased", () => {
    expect(leaseSize(LEASE_MIN_LIMIT - 1)).toBe(0);
    expect(leaseSize(1)).toBe(0);
    expect(leaseSize(1_000)).toBe(1);
    expect(leaseSize(250_000)).toBe(250);
    expect(leaseSize(1_000_000_000)).toBe(1_000);
  });
});

describe("sendLeases (in memory)", () => {
  const entry = (address: string) => ({ caller: "web", address, limit: 100_000, periodMs: MINUTE });

  test("at most maxKeys counters held: past it nothing new is asked for, until ended windows are swept (at most once per pruneEveryMs)", () => {
    const leases = sendLeases({ maxKeys: 2, pruneEveryMs: 1_000 });
    const asked = leases.asks([entry("a"), entry("b")], T0);
    expect(asked).toHaveLength(2);
    leases.granted(asked, asked, T0);
    expect(leases.asks([entry("c")], T0)).toEqual([]);
    // A new window: the held ones have ended and are swept, so there is room again.
    expect(leases.asks([entry("c")], T0 + MINUTE)).toHaveLength(1);
    expect(leases.size).toBe(0);
  });

  test("a counter the database had no room for is counted send by send until its window ends", () => {
    const leases = sendLeases();
    const asked = leases.asks([entry("a")], T0);
    leases.granted(asked, [], T0);
    expect(leases.asks([entry("a")], T0 + 1)).toEqual([]);
    expect(leases.use(entry("a"), T0 + 1)).toBe(false);
    expect(leases.asks([entry("a")], T0 + MINUTE)).toHaveLength(1);
  });
});

describe("leased counters", () => {
  test("three instances racing past a 20,000/minute limit: never more than the limit, at most one lease each left unused", async () => {
    const LIMIT = 20_000;
    const clients = Array.from({ length: 3 }, () => createSql(db.url, { max: 2 }));
    const gates = clients.map((sql) => sendRateGate(sql));
    let admitted = 0;
    let refused = 0;
    try {
      // 3 × 7,168 = 21,504 attempts in one window, 64 at a time per instance.
      await Promise.all(
        gates.map(async (gate, g) => {
          for (let round = 0; round < 112; round++) {
            const outcomes = await Promise.all(Array.from({ length: 64 }, (_, i) => gate.take(caller(LIMIT), [`r${g}-${round}-${i}@example.com`], T0 + round)));
            for (const o of outcomes) "taken" in o ? (admitted += 1) : (refused += 1);
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
    expect(admitted + refused).toBe(21_504);
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT - 3 * leaseSize(LIMIT));
    // Everything admitted was counted first; the count is the limit once the window is full.
    expect(await counted("web\n")).toBe(LIMIT);
  });

  test("a limit under 1,000 is counted send by send: the database count is exactly what was admitted", async () => {
    const gate = sendRateGate(db.sql);
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => gate.take(caller(999), [`x${i}@example.com`], T0)));
    expect(outcomes.filter((o) => "taken" in o)).toHaveLength(40);
    expect(await counted("web\n")).toBe(40);
  });

  test("sends admitted from a lease and not sent go back to it: the next sends of the window need no statement", async () => {
    const gate = sendRateGate(db.sql);
    const first = await gate.take(caller(100_000), ["a@example.com"], T0);
    if (!("taken" in first)) throw new Error("refused");
    expect(await counted("web\n")).toBe(1 + leaseSize(100_000));
    // 100 more sends in the window come from the lease: the count does not move.
    for (let i = 0; i < leaseSize(100_000); i++) {
      const outcome = await gate.take(caller(100_000), [], T0 + 1);
      if (!("taken" in outcome)) throw new Error("refused");
      expect(outcome.taken.fromLeases).toHaveLength(1);
      await gate.giveBack(outcome.taken, []); // not sent: back to the lease
    }
    expect(await counted("web\n")).toBe(1 + leaseSize(100_000));
  });

  test("a request refused for a recipient gives its caller unit back to the lease (all or nothing)", async () => {
    const gate = sendRateGate(db.sql);
    const limits = caller(100_000, 1);
    const ok = await gate.take(limits, ["b@example.com"], T0);
    expect("taken" in ok).toBe(true);
    const before = await counted("web\n");
    // b@ is full: refused; its caller unit came from the lease and returns to it.
    for (let i = 0; i < leaseSize(100_000) + 50; i++) {
      const again = await gate.take(limits, ["b@example.com"], T0 + 1);
      expect("refused" in again).toBe(true);
    }
    expect(await counted("web\n")).toBe(before);
  });

  test("a lease counted in one window is not used in the next", async () => {
    const gate = sendRateGate(db.sql);
    await gate.take(caller(100_000), [], T0);
    const next = await gate.take(caller(100_000), [], T0 + MINUTE);
    if (!("taken" in next)) throw new Error("refused");
    expect(next.taken.fromLeases).toHaveLength(0);
    expect(next.taken.entries).toHaveLength(1);
  });
});
