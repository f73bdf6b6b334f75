// Tools check the tokenserver schema at start instead of migrating it. A database that is not up yet is
// waited for (a deploy may start us first); a database without the schema is a clear, fatal error.
import { backoffDelay, sleep } from "../core/backoff.ts";
import type { Logger } from "../core/logger.ts";
import { isTransientDbError } from "../db/errors.ts";
import type { TokenserverRepository } from "./repository.ts";

export async function waitForSchema(repo: TokenserverRepository, log: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await repo.checkSchema();
      return;
    } catch (error) {
      if (!isTransientDbError(error) || signal.aborted) throw error;
      const delay = backoffDelay({ baseMs: 500, capMs: 30_000 }, attempt);
      log.warn("Database not reachable yet; retrying", { delayMs: delay, error: (error as Error).message });
      await sleep(delay, signal);
    }
  }
}
