// delete_service_data (spec/tokenserver.md §4.3–4.4): one Hawk-signed DELETE {node}/1.5/{uid}, signed
// afresh for every attempt. 2xx/3xx and 404 are success; 500–504 give up at once. Unlike the original,
// which retried other 4xx and 505+ forever, those are retried at most `maxAttempts` times with capped
// exponential backoff and full jitter, so one broken node cannot stall a run.
import { backoffDelay, sleep as defaultSleep, type BackoffPolicy } from "../core/backoff.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../core/metrics.ts";
import { signDeleteServiceData } from "./hawk.ts";
import { httpDelete as defaultHttpDelete, TransportError, type HttpDelete } from "./storage-http.ts";
import { InvalidClientStateError, type PurgeRowForToken } from "./token.ts";

export type FailureReason = "http_5xx" | "http_4xx" | "http_other" | "timeout" | "connect" | "unknown";

/** A storage delete that did not succeed, with the original's failure classification. */
export class StorageDeleteError extends Error {
  override name = "StorageDeleteError";
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** _classify_failure: what a row failure is counted as in `row_failure{reason}`. */
export function classifyFailure(error: unknown): FailureReason {
  if (error instanceof StorageDeleteError) return error.reason;
  if (error instanceof TransportError) return error.reason;
  return "unknown"; // database errors, bad client_state hex, anything unexpected
}

export interface StorageDeleteOptions {
  secret: string;
  timeoutMs: number;
  /** Total attempts for retryable statuses (4xx other than 404, and 505+). */
  maxAttempts: number;
  backoff?: BackoffPolicy;
  metrics: Metrics;
  log: Logger;
  httpDelete?: HttpDelete;
  /** Cancels requests and back-off waits in flight (the stop bound is nearly used up). */
  abandon?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface StorageDeleteResult {
  status: number;
  attempts: number;
}

export type StorageDeleter = (row: PurgeRowForToken, node: string) => Promise<StorageDeleteResult>;

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 };

export function createStorageDeleter(options: StorageDeleteOptions): StorageDeleter {
  const send = options.httpDelete ?? defaultHttpDelete;
  const sleep = options.sleep ?? defaultSleep;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  return async (row, node) => {
    for (let attempt = 1; ; attempt += 1) {
      let request;
      try {
        request = signDeleteServiceData(row, { secret: options.secret, node });
      } catch (error) {
        if (error instanceof InvalidClientStateError) throw new StorageDeleteError("unknown", error.message, undefined, { cause: error });
        throw error;
      }
      const status = await send(request.url, request.headers, options.timeoutMs, options.abandon);
      if (status < 400 || status === 404) return { status, attempts: attempt };
      options.metrics.incr("error.gone");
      const reason: FailureReason = status >= 500 ? "http_5xx" : "http_4xx";
      const message = `${status} response from ${node} for uid ${row.uid}`;
      if ((status >= 500 && status < 505) || attempt >= options.maxAttempts) {
        throw new StorageDeleteError(reason, `${message} after ${attempt} attempt(s)`, status);
      }
      const delay = backoffDelay(policy, attempt - 1, options.random);
      options.log.info(`Backing off storage delete for uid ${row.uid} for ${(delay / 1000).toFixed(1)}s (${message})`);
      await sleep(delay, options.abandon);
      if (options.abandon?.aborted) throw new StorageDeleteError(reason, `${message}; not retried: the tool is stopping`, status);
    }
  };
}
