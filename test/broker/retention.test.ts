// The outbox's retention (src/broker/retention.ts) on real PostgreSQL: delivered and superseded rows go
// after DELIVERY_RETENTION, dead ones after DEAD_DELIVERY_RETENTION, pending ones never; their attempts
// go with them; and the settings refuse a retention that is not a number of seconds.
import { beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { serveSettings, type ServeFlags } from "../../src/broker/config.ts";
import { deleteExpiredDeliveries } from "../../src/broker/retention.ts";
import { keys, migrateBroker } from "../support/broker.ts";
import { createTestDatabase } from "../support/postgres.ts";

const db = await createTestDatabase();
beforeAll(() => migrateBroker(db.sql));
beforeEach(async () => void (await db.sql`truncate broker_deliveries cascade`));

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const retention = { finishedMs: 30 * DAY, deadMs: 90 * DAY };

/** One delivery per (status, age in days), each with one attempt. */
async function seed(rows: [status: string, ageDays: number][]): Promise<void> {
  for (const [status, ageDays] of rows) {
    const at = new Date(NOW - ageDays * DAY);
    const [row] = await db.sql<{ id: bigint }[]>`
      insert into broker_deliveries (client_id, uid, event, payload, jti, status, created_at, available_at, finished_at)
      values ('c1', ${`${status}-${ageDays}`}, 'delete', '{}', ${crypto.randomUUID()}, ${status}, ${at}, ${at}, ${status === "pending" ? null : at})
      returning id`;
    await db.sql`insert into broker_attempts (delivery_id, attempted_at, http_status, latency_ms) values (${row!.id}, ${at}, 200, 5)`;
  }
}

const left = async () => (await db.sql<{ uid: string }[]>`select uid from broker_deliveries order by uid`).map((r) => r.uid);

describe("deleteExpiredDeliveries", () => {
  test("delivered and superseded past 30 days, dead past 90, pending never; attempts go with their delivery", async () => {
    await seed([["delivered", 31], ["delivered", 29], ["superseded", 45], ["superseded", 1], ["dead", 89], ["dead", 91], ["pending", 400]]);
    expect(await deleteExpiredDeliveries(db.sql, retention, NOW)).toBe(3);
    expect(await left()).toEqual(["dead-89", "delivered-29", "pending-400", "superseded-1"]);
    const [attempts] = await db.sql<{ n: number }[]>`select count(*)::int as n from broker_attempts`;
    expect(attempts!.n).toBe(4);
    expect(await deleteExpiredDeliveries(db.sql, retention, NOW)).toBe(0);
  });

  test("in batches: each call deletes at most its batch, oldest first", async () => {
    await seed(Array.from({ length: 7 }, (_, i) => ["delivered", 40 + i] as [string, number]));
    const counts: number[] = [];
    for (let n = await deleteExpiredDeliveries(db.sql, retention, NOW, 3); n > 0; n = await deleteExpiredDeliveries(db.sql, retention, NOW, 3)) counts.push(n);
    expect(counts).toEqual([3, 3, 1]);
    expect(await left()).toEqual([]);
  });
});

describe("retention settings", () => {
  const flags: ServeFlags = {
    host: undefined, port: undefined, queue: undefined, queueConcurrency: "8", queueWaitTime: "20", deliveryConcurrency: "8",
    deliveryTimeout: "10", deliveryMaxAge: undefined, disableQueueWorker: true, disableDelivery: undefined, disableHttp: true, allowInsecureWebhooks: undefined,
  };
  const env = (extra: Record<string, string>) => ({ DATABASE_URL: db.url, OPENID_ISSUER: "https://accounts.example.com", OPENID_KEY: JSON.stringify(keys().privateJwk), ...extra });
  const settings = (extra: Record<string, string>) =>
    serveSettings({ flags, env: env(extra), extra: [], verbosity: 0, label: (name: string) => `--${name}` } as unknown as Parameters<typeof serveSettings>[0]);

  test("default 30 days for finished deliveries, 90 for dead; both from the environment in seconds", async () => {
    expect((await settings({})).delivery!.retention).toEqual({ finishedMs: 30 * DAY, deadMs: 90 * DAY });
    expect((await settings({ DELIVERY_RETENTION: "86400", DEAD_DELIVERY_RETENTION: "172800" })).delivery!.retention).toEqual({ finishedMs: DAY, deadMs: 2 * DAY });
  });

  test("a retention that is not a number of seconds (or under a minute) is a usage error naming the variable", async () => {
    await expect(settings({ DELIVERY_RETENTION: "30d" })).rejects.toThrow(/DELIVERY_RETENTION/);
    await expect(settings({ DEAD_DELIVERY_RETENTION: "5" })).rejects.toThrow(/DEAD_DELIVERY_RETENTION/);
  });
});
