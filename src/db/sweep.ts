// A periodic clean-up of rows that are no longer read (expired message data, ended send counters): every
// `intervalMs`, `deleteSome` runs until it deletes nothing. Any instance may run it at the same time as
// others (the deletes do not conflict), a sweep never overlaps the previous one, and a failure is only
// logged: rows left behind are never read, and the next sweep retries.
import type { Logger } from "../core/logger.ts";

export interface SweepOptions {
  /** Deletes a batch of what is due at `now`; returns how many rows it deleted. */
  deleteSome(now: number): Promise<number>;
  intervalMs: number;
  log: Logger;
  /** The log line after a sweep that deleted rows, e.g. "Expired message data deleted". */
  deleted: string;
  /** The log line when a sweep failed. */
  failed: string;
  now?: () => number;
}

export function startSweep(options: SweepOptions): { stop(): void } {
  const now = options.now ?? Date.now;
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      let total = 0;
      for (let n = await options.deleteSome(now()); n > 0; n = await options.deleteSome(now())) total += n;
      if (total > 0) options.log.info(options.deleted, { rows: total });
    } catch (error) {
      options.log.warn(options.failed, { error: (error as Error).message });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(sweep, options.intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return { stop: () => clearInterval(timer) };
}
