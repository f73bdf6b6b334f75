// How long finished deliveries stay in the outbox. Delivered and superseded rows are history (the console
// and `deliveries list` show them, nothing else reads them) and go after DELIVERY_RETENTION; dead rows
// wait for an operator to replay them and go after DEAD_DELIVERY_RETENTION. Pending rows are never
// touched. Their attempts go with them (ON DELETE CASCADE). Every delivery worker process sweeps every
// 10 minutes; instances sweeping at once skip each other's rows.
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { startSweep } from "../db/sweep.ts";

export interface DeliveryRetention {
  /** ms after which a delivered or superseded delivery is deleted. */
  finishedMs: number;
  /** ms after which a dead delivery is deleted. */
  deadMs: number;
}

const SWEEP_INTERVAL_MS = 10 * 60_000;
const BATCH = 1_000;

/**
 * Deletes up to `batch` deliveries past their retention at `now`, oldest first; returns how many.
 * Walking the primary key from the oldest rows finds them without an index on finished_at: rows are
 * finished roughly in the order they were created.
 */
export async function deleteExpiredDeliveries(sql: Sql, retention: DeliveryRetention, now: number, batch = BATCH): Promise<number> {
  const result = await sql`
    delete from broker_deliveries where id in (
      select id from broker_deliveries
      where (status in ('delivered', 'superseded') and finished_at < to_timestamp(${(now - retention.finishedMs) / 1000}))
         or (status = 'dead' and finished_at < to_timestamp(${(now - retention.deadMs) / 1000}))
      order by id limit ${batch} for update skip locked)`;
  return result.count;
}

export function startDeliveryRetention(options: { sql: Sql; log: Logger; retention: DeliveryRetention; now?: () => number; intervalMs?: number }): { stop(): void } {
  return startSweep({
    deleteSome: (now) => deleteExpiredDeliveries(options.sql, options.retention, now),
    intervalMs: options.intervalMs ?? SWEEP_INTERVAL_MS,
    log: options.log,
    deleted: "Expired deliveries deleted",
    failed: "Delivery retention sweep failed",
    ...(options.now ? { now: options.now } : {}),
  });
}
