// Tools check their schema at start instead of migrating it (DESIGN.md §4). A database that is not up
// yet is waited for, with backoff (a deploy may start us first); any other failure of the check (a
// missing table, say) is fatal and reaches the operator as it is.
import { backoffDelay, sleep } from "../core/backoff.ts";
import type { Logger } from "../core/logger.ts";
import { isTransientDbError } from "./errors.ts";

export async function waitForDatabase(check: () => Promise<void>, log: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await check();
      return;
    } catch (error) {
      if (!isTransientDbError(error) || signal.aborted) throw error;
      const delay = backoffDelay({ baseMs: 500, capMs: 30_000 }, attempt);
      log.warn("Database not reachable yet; retrying", { delayMs: delay, error: (error as Error).message });
      await sleep(delay, signal);
    }
  }
}
