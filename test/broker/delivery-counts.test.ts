// The outbox's maintained counters (migration 2): after any mix of the statements that write deliveries,
// folded counts equal a count of the outbox, and stats() reports them with each client's oldest pending.
import { beforeAll, expect, test } from "bun:test";
import { stats } from "../../src/broker/admin.ts";
import { countByClientAndStatus, insertDeliveries, recordResults, retryDeadOfClient, supersedePending } from "../../src/broker/queries.ts";
import { migrateBroker } from "../support/broker.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { seededRandom } from "../support/seeded-random.ts";

const db = await createTestDatabase();
beforeAll(() => migrateBroker(db.sql));

const counted = async () =>
  Object.fromEntries((await db.sql<{ k: string; n: bigint }[]>`select client_id || '/' || status as k, count(*) as n from broker_deliveries group by 1`).map((r) => [r.k, Number(r.n)]));
const maintained = async () => Object.fromEntries((await countByClientAndStatus(db.sql)).map((r) => [`${r.client_id}/${r.status}`, Number(r.count)]));

test("counters follow inserts, results, supersedes, replays, deletes and truncate", async () => {
  const random = seededRandom(15);
  const clients = ["aa01", "bb02", "cc03"];
  const t0 = Date.parse("2026-03-01T00:00:00Z");
  for (let round = 0; round < 20; round++) {
    const now = new Date(t0 + round * 60_000);
    const rows = Array.from({ length: 1 + Math.floor(random() * 20) }, () => {
      const uid = `u${Math.floor(random() * 5)}`;
      const event = random() < 0.5 ? "passwordChange" : "profileDataChange";
      return { client_id: clients[Math.floor(random() * 3)]!, uid, event, payload: {}, jti: crypto.randomUUID(), source_message_id: null };
    });
    await insertDeliveries(db.sql, rows, now);
    const pending = await db.sql<{ id: bigint }[]>`select id from broker_deliveries where status = 'pending' order by id limit 10`;
    await recordResults(
      db.sql,
      pending.map((p, i) => ({ id: p.id, outcome: (["delivered", "dead", "retry", "deferred"] as const)[i % 4]!, attemptedAt: now, httpStatus: 500, latencyMs: 3, error: null, nextAt: now })),
    );
    if (round % 3 === 0) await supersedePending(db.sql, `u${round % 5}`, clients, ["profileDataChange"], now);
    if (round % 5 === 0) await retryDeadOfClient(db.sql, clients[round % 3]!, now);
    if (round % 7 === 0) await db.sql`delete from broker_deliveries where id in (select id from broker_deliveries order by id limit 2)`;
    expect(await maintained()).toEqual(await counted());
  }
  expect(Object.keys(await counted()).length).toBeGreaterThan(6);

  const [oldest] = await db.sql<{ client_id: string; at: Date }[]>`select client_id, min(created_at) as at from broker_deliveries where status = 'pending' group by client_id order by client_id limit 1`;
  const totals = await stats({ sql: db.sql, clock: () => t0, allowInsecureWebhooks: true });
  expect(totals.clients[oldest!.client_id]!.oldestPending).toBe(oldest!.at.toISOString());
  expect(Object.values(totals.totals).reduce((a, b) => a + b, 0)).toBe(Number((await db.sql<{ n: bigint }[]>`select count(*) as n from broker_deliveries`)[0]!.n));

  await db.sql`truncate broker_deliveries, broker_attempts restart identity`;
  expect(await maintained()).toEqual({});
});
