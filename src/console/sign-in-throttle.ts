// Wrong admin tokens, counted per client address: after `maxFailures` within `windowMs` (counted from
// the first of them) that address's sign-ins are refused, right token or not, until the window ends.
// Tokens are long random strings, so this is not what keeps them safe; it keeps a guessing script from
// running unnoticed and unhindered. Held per process (each instance counts its own), at most `maxKeys`
// addresses: past that, ended windows are dropped, then the oldest. Behind a proxy every client has the
// proxy's address, so they share one count.

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  maxKeys: number;
}

export const SIGN_IN_THROTTLE: ThrottlePolicy = { maxFailures: 10, windowMs: 15 * 60_000, maxKeys: 10_000 };

interface Count {
  failures: number;
  windowEnd: number;
}

export interface SignInThrottle {
  /** ms until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string, now: number): number;
  /** A wrong token from `key`. */
  failed(key: string, now: number): void;
  /** Addresses counted now (for tests). */
  readonly size: number;
}

export function signInThrottle(policy: ThrottlePolicy = SIGN_IN_THROTTLE): SignInThrottle {
  const counts = new Map<string, Count>();
  const current = (key: string, now: number): Count | undefined => {
    const count = counts.get(key);
    if (count && count.windowEnd <= now) {
      counts.delete(key);
      return undefined;
    }
    return count;
  };
  const makeRoom = (now: number) => {
    for (const [key, count] of counts) if (count.windowEnd <= now) counts.delete(key);
    while (counts.size >= policy.maxKeys) counts.delete(counts.keys().next().value!);
  };
  return {
    retryAfterMs(key, now) {
      const count = current(key, now);
      return count && count.failures >= policy.maxFailures ? count.windowEnd - now : 0;
    },
    failed(key, now) {
      const count = current(key, now);
      if (count) {
        count.failures += 1;
        return;
      }
      if (counts.size >= policy.maxKeys) makeRoom(now);
      counts.set(key, { failures: 1, windowEnd: now + policy.windowMs });
    },
    get size() {
      return counts.size;
    },
  };
}
