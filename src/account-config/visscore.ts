// The visscore queue check (spec/account-config.md §8; point 18 of the original, made safe). The original
// threw when an account's queue did not exist, which aborted the rest of its loop. Here a check never
// throws: a missing queue (or any SQS error) keeps the last good name and URL, is reported, and is
// retried with backoff. Checks run after the refresh has applied its rows and never block the next one.
import { GetQueueUrlCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "../core/logger.ts";

export interface VisscoreState {
  desired: string | null;
  resolved: string | null;
  url: string | null;
  status: "none" | "ok" | "missing" | "error";
  error?: string;
  checkedAt?: number;
  nextCheckAt?: number;
  failures: number;
  /** With VISSCORE_CHECK_RETRY_QUEUE: visscore_retry_<token>, checked with the main queue, report only. */
  retryQueue?: { name: string; status: "ok" | "missing" | "error" };
}

export interface VisscoreOptions {
  sqs: SQSClient;
  log: Logger;
  now: () => number;
  /** VISSCORE_QUEUE_OWNER: the AWS account that owns the queues, when it is not ours. */
  queueOwner?: string;
  /** Delay before retry n (1-based); default min(30 s · 2^(n-1), 10 min). The vectors use 0. */
  retryDelayMs?: (failures: number) => number;
  /** Also check Cubed's visscore_retry_<token> (report only). */
  checkRetryQueue?: boolean;
  /** Checks at once (default 4). */
  concurrency?: number;
  /** Per call (default 5 s). */
  timeoutMs?: number;
}

export const defaultRetryDelay = (failures: number) => Math.min(30_000 * 2 ** (failures - 1), 600_000);

const isMissingQueue = (error: unknown) => {
  const e = error as { name?: string; Code?: string; code?: string };
  return e?.name === "QueueDoesNotExist" || e?.Code === "AWS.SimpleQueueService.NonExistentQueue" || e?.name === "AWS.SimpleQueueService.NonExistentQueue";
};

export class VisscoreChecker {
  readonly states = new Map<number, VisscoreState>();
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private readonly warned = new Set<string>();
  private readonly recheck = new Map<number, string>();
  private running = 0;

  constructor(private readonly options: VisscoreOptions) {}

  /**
   * Called after each refresh with the present accounts: starts a check for those whose desired queue
   * changed or whose retry is due. NULL clears the state without calling SQS.
   */
  schedule(accounts: Iterable<{ id: number; token: string; visscore_queue: string | null }>, present: (id: number) => boolean): void {
    const now = this.options.now();
    for (const account of accounts) {
      const desired = account.visscore_queue;
      const state = this.states.get(account.id);
      if (desired === null) {
        if (!state || state.status !== "none") this.states.set(account.id, { desired: null, resolved: null, url: null, status: "none", failures: 0 });
        continue;
      }
      const changed = !state || state.desired !== desired;
      const due = state !== undefined && (state.status === "missing" || state.status === "error") && (state.nextCheckAt ?? 0) <= now;
      if (!changed && !due) continue;
      if (changed) {
        // Keep the last good queue until the new one is confirmed.
        this.states.set(account.id, { desired, resolved: state?.resolved ?? null, url: state?.url ?? null, status: state?.status === "ok" ? "ok" : (state?.status ?? "none"), failures: 0 });
      }
      // A check of the previous name is running: check again with the new one when it ends.
      if (this.inFlight.has(account.id)) this.recheck.set(account.id, account.token);
      else this.enqueue(account.id, account.token, desired);
    }
    for (const id of this.states.keys()) if (!present(id)) this.states.delete(id);
  }

  /** Resolves when every check started so far has finished. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  /** Tokens of accounts whose queue is missing / unreachable, for the heartbeat and check-queues. */
  problems(tokenOf: (id: number) => string | undefined): { missing: string[]; errors: string[]; retryMissing?: string[] } {
    const missing: string[] = [];
    const errors: string[] = [];
    const retryMissing: string[] = [];
    for (const [id, state] of this.states) {
      const token = tokenOf(id);
      if (token === undefined) continue;
      if (state.status === "missing") missing.push(token);
      if (state.status === "error") errors.push(token);
      if (state.retryQueue && state.retryQueue.status !== "ok") retryMissing.push(token);
    }
    return { missing: missing.sort(), errors: errors.sort(), ...(this.options.checkRetryQueue ? { retryMissing: retryMissing.sort() } : {}) };
  }

  private enqueue(accountId: number, token: string, name: string) {
    const job = this.slot()
      .then(() => this.check(accountId, token, name))
      .finally(() => {
        this.running -= 1;
        this.inFlight.delete(accountId);
        this.waiting.shift()?.();
        const again = this.recheck.get(accountId);
        this.recheck.delete(accountId);
        const desired = this.states.get(accountId)?.desired;
        if (again !== undefined && desired && desired !== name) this.enqueue(accountId, again, desired);
      });
    this.inFlight.set(accountId, job);
  }

  /** Waits for one of the `concurrency` slots. */
  private slot(): Promise<void> {
    const take = () => void (this.running += 1);
    if (this.running < (this.options.concurrency ?? 4)) return Promise.resolve(take());
    return new Promise((resolve) => this.waiting.push(() => resolve(take())));
  }

  private async getQueueUrl(name: string): Promise<{ url: string } | { missing: boolean; error: string }> {
    try {
      const result = await this.options.sqs.send(
        new GetQueueUrlCommand({ QueueName: name, ...(this.options.queueOwner ? { QueueOwnerAWSAccountId: this.options.queueOwner } : {}) }),
        { abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000) },
      );
      return result.QueueUrl ? { url: result.QueueUrl } : { missing: false, error: "GetQueueUrl returned no URL" };
    } catch (error) {
      return { missing: isMissingQueue(error), error: (error as Error)?.message || String(error) };
    }
  }

  private async check(accountId: number, token: string, name: string): Promise<void> {
    const { log, now } = this.options;
    const outcome = await this.getQueueUrl(name);
    // VISSCORE_CHECK_RETRY_QUEUE: Cubed's retry queue is reported, never used for the state.
    const retryName = `visscore_retry_${token}`;
    const retry = this.options.checkRetryQueue ? await this.getQueueUrl(retryName) : undefined;
    const retryQueue = retry ? { retryQueue: { name: retryName, status: "url" in retry ? "ok" : retry.missing ? "missing" : "error" } as const } : {};
    const state = this.states.get(accountId);
    if (!state || state.desired !== name) return; // the account changed its mind meanwhile
    const at = now();
    if ("url" in outcome) {
      this.states.set(accountId, { desired: name, resolved: name, url: outcome.url, status: "ok", checkedAt: at, failures: 0, ...retryQueue });
      this.warned.delete(`${accountId}:${name}`);
      return;
    }
    const failures = state.failures + 1;
    const delay = (this.options.retryDelayMs ?? defaultRetryDelay)(failures);
    this.states.set(accountId, {
      ...state,
      status: outcome.missing ? "missing" : "error",
      error: outcome.error,
      checkedAt: at,
      nextCheckAt: at + delay,
      failures,
      ...retryQueue,
    });
    const key = `${accountId}:${name}`;
    if (!this.warned.has(key)) {
      this.warned.add(key);
      log.warn(outcome.missing ? "Visscore queue does not exist; keeping the last good queue" : "Visscore queue check failed; keeping the last good queue", {
        account: token,
        queue: name,
        kept: state.resolved,
        error: outcome.error,
      });
    }
  }
}
