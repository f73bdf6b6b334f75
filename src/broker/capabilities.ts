// Subscription capabilities per client (spec/event-broker.md §4.2): GET CAPABILITY_URL with the raw shared
// secret as Authorization (no "Bearer"), at start and every CAPABILITY_REFRESH_INTERVAL seconds.
// Kept from the original: a failed start fetch stops the broker when CAPABILITY_FAIL_ON_START is true, a
// failed refresh keeps the old cache, and clients missing from a response keep their old capabilities
// (the cache is updated, never pruned). Changed: with CAPABILITY_FAIL_ON_START=false the start fetch
// still runs (its failure is logged) and so does the refresh; the original then fetched nothing at all.
import { z } from "zod";
import { SetupError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

const RESPONSE = z.array(z.object({ clientId: z.string(), capabilities: z.array(z.string()) }));

export interface CapabilityOptions {
  url?: string;
  authToken?: string;
  refreshMs: number;
  failOnStart: boolean;
  log: Logger;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface CapabilityCache {
  get(): ReadonlyMap<string, readonly string[]>;
  /** One fetch now; returns false (and logs) on failure. */
  refresh(): Promise<boolean>;
  close(): void;
}

export async function startCapabilities(options: CapabilityOptions): Promise<CapabilityCache> {
  const { log } = options;
  const doFetch = options.fetch ?? fetch;
  const cache = new Map<string, readonly string[]>();

  const fetchOnce = async (): Promise<void> => {
    const response = await doFetch(options.url!, {
      headers: options.authToken ? { authorization: options.authToken } : {},
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      redirect: "manual",
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw Object.assign(new Error(`status ${response.status}`), { status: response.status });
    }
    const list = RESPONSE.parse(await response.json());
    for (const { clientId, capabilities } of list) cache.set(clientId, capabilities);
    log.debug("updateCapabilities", { clients: list.length });
  };

  const refresh = async (): Promise<boolean> => {
    try {
      await fetchOnce();
      return true;
    } catch (error) {
      log.error("updateCapabilities", { status: (error as { status?: number }).status, message: "Error fetching client capabilities.", error: (error as Error).message });
      return false;
    }
  };

  if (!options.url) return { get: () => cache, refresh: async () => true, close() {} };
  if (options.failOnStart) {
    try {
      await fetchOnce();
    } catch (error) {
      throw new SetupError(`Unexpected error fetching client capabilities from auth-server (${options.url}: ${(error as Error).message}); set CAPABILITY_FAIL_ON_START=false to start without them`);
    }
  } else {
    await refresh();
  }
  const timer = setInterval(() => void refresh(), options.refreshMs);
  timer.unref?.();
  return { get: () => cache, refresh, close: () => clearInterval(timer) };
}
