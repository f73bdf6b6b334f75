// The issuer's public keys, as a relying party keeps them: fetched from its JWKS URL when a kid is first
// needed, kept, and fetched again only when a SET names a kid the copy does not have (the issuer rotated
// its key). Fetches are at most one per `refetchIntervalMs` (a minute in production), so SETs with made-up
// kids cannot make the receiver hammer the issuer; concurrent misses share one fetch. A fetch replaces
// the whole copy, so a key the issuer withdrew stops verifying at the next fetch.
//
// A JWKS that cannot be fetched (the issuer down, not JSON) is a JwksUnavailableError: the SET may be
// fine, so the receiver answers 503 and the sender retries. Keys in the set that are not RS256 RSA
// signing keys, or that have no kid, are skipped.
import type { Logger } from "../core/logger.ts";
import { importVerifyKey, type KeySource } from "./verify.ts";

export class JwksUnavailableError extends Error {
  override name = "JwksUnavailableError";
}

export interface JwksOptions {
  url: string;
  log: Logger;
  fetch?: typeof fetch;
  /** ms; Date.now unless a test moves time on. */
  clock?: () => number;
  refetchIntervalMs?: number;
  timeoutMs?: number;
}

export interface JwksCache extends KeySource {
  /** How many fetches were made (for tests and the log). */
  readonly fetches: number;
}

export const JWKS_REFETCH_INTERVAL_MS = 60_000;
const MAX_JWKS_BYTES = 256 * 1024;

export function createJwksCache(options: JwksOptions): JwksCache {
  const clock = options.clock ?? Date.now;
  const interval = options.refetchIntervalMs ?? JWKS_REFETCH_INTERVAL_MS;
  let keys = new Map<string, CryptoKey>();
  let lastAttemptAt: number | undefined;
  let lastError: Error | undefined;
  let inFlight: Promise<void> | undefined;
  let fetches = 0;

  async function load(): Promise<void> {
    fetches += 1;
    lastAttemptAt = clock();
    let body: unknown;
    try {
      const response = await (options.fetch ?? fetch)(options.url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000), redirect: "error" });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
      body = JSON.parse(text);
    } catch (error) {
      lastError = new JwksUnavailableError(`the issuer's JWKS at ${options.url} could not be fetched: ${(error as Error).message}`);
      options.log.warn("JWKS fetch failed", { url: options.url, error: (error as Error).message });
      return;
    }
    const listed = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(listed)) {
      lastError = new JwksUnavailableError(`the issuer's JWKS at ${options.url} has no keys array`);
      options.log.warn("JWKS fetch failed", { url: options.url, error: "no keys array" });
      return;
    }
    const next = new Map<string, CryptoKey>();
    for (const jwk of listed as Record<string, unknown>[]) {
      if (typeof jwk?.kid !== "string") continue;
      try {
        next.set(jwk.kid, await importVerifyKey(jwk));
      } catch (error) {
        options.log.warn("JWKS key skipped", { kid: jwk.kid, error: (error as Error).message });
      }
    }
    keys = next;
    lastError = undefined;
    options.log.info("JWKS fetched", { url: options.url, kids: [...next.keys()] });
  }

  return {
    get fetches() {
      return fetches;
    },
    async key(kid) {
      const known = keys.get(kid);
      if (known) return known;
      if (!inFlight && (lastAttemptAt === undefined || clock() - lastAttemptAt >= interval)) {
        inFlight = load().finally(() => (inFlight = undefined));
      }
      if (inFlight) await inFlight;
      if (lastError) throw lastError;
      return keys.get(kid);
    },
  };
}
