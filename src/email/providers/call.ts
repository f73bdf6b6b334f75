// What every provider call shares: its dependencies, a deadline, and one rule for failures (an
// EmailError goes to the caller as it is, anything else becomes Internal; both are logged, none crash).
import type { Logger } from "../../core/logger.ts";
import { EmailError, internalError } from "../errors.ts";
import type { ProviderName, SendOptions } from "./provider.ts";

export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

export interface ProviderDeps {
  log: Logger;
  /** Per-call budget for the whole provider exchange (connect, send, response). */
  timeoutMs?: number;
  /** The HTTP client of the HTTPS providers (tests and shutdown wiring pass their own). */
  fetch?: typeof fetch;
}

/**
 * The signal a provider call runs under: the caller's (shutdown, request abort) joined with the
 * per-call timeout, so a silent server can never hold a request forever.
 */
export function callSignal(timeoutMs: number, options?: SendOptions): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return options?.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
}

/** Runs one provider call under its deadline and maps whatever escapes it to an EmailError. */
export async function runProviderCall(
  provider: ProviderName,
  deps: ProviderDeps,
  options: SendOptions | undefined,
  call: (signal: AbortSignal) => Promise<string>,
): Promise<string> {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  const signal = callSignal(timeoutMs, options);
  try {
    return await call(signal);
  } catch (caught) {
    const error = toEmailError(provider, caught, signal, timeoutMs, options);
    // 400s are the caller's input; 500s are ours or the provider's and need a look.
    if (error.status >= 500) deps.log.error("Email provider failed", { provider, message: error.message, cause: describe(caught) });
    else deps.log.warn("Email provider rejected the message", { provider, message: error.message });
    throw error;
  }
}

function toEmailError(provider: ProviderName, caught: unknown, signal: AbortSignal, timeoutMs: number, options?: SendOptions): EmailError {
  if (caught instanceof EmailError) return caught;
  if (signal.aborted) {
    // Our own timeout, or the caller gave up (shutdown): either way the send did not complete.
    const reason = options?.signal?.aborted ? "was aborted" : `timed out after ${timeoutMs} ms`;
    return internalError(`${provider} request ${reason}`, caught);
  }
  if (caught instanceof Error) return internalError(`${provider} error: ${caught.message || caught.name}`, caught);
  return internalError(`${provider} error: ${String(caught)}`, caught);
}

function describe(value: unknown): string {
  if (value instanceof EmailError) return value.cause instanceof Error ? `${value.cause.name}: ${value.cause.message}` : value.message;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return String(value);
}
