// Sends counted ahead of need. For a counter whose limit is at least LEASE_MIN_LIMIT per window, an
// instance asks PostgreSQL, in the same statement as the sends it needs, for leaseSize(limit) more (0.1%
// of the limit, at most 1,000), and admits the next sends of that window from memory. The invariant:
// every send an instance admits was counted in PostgreSQL before it was admitted, so between them the
// instances never admit more than N per window. The price: units an instance holds and does not use
// are lost with its window (or its process), so near a limit a send can be refused while other
// instances still hold up to 0.1% of the limit each. Limits under 1,000 per window are counted send by
// send, exactly, as before. What this buys: the caller's own counter is one row that every send of the
// caller would otherwise update, which serialises the instances' statements on its lock.
import { counterKey, type LeaseAsk, type TakeEntry } from "./caller-store.ts";

export const LEASE_MIN_LIMIT = 1_000;
const MAX_LEASE = 1_000;
/** Counters held at once (~100 bytes each); past it no new lease is asked for (per-recipient limits make many keys). */
const MAX_KEYS = 100_000;
/** A full table is swept of ended windows at most this often: a sweep walks every key. */
const PRUNE_EVERY_MS = 1_000;

export function leaseSize(limit: number): number {
  return limit >= LEASE_MIN_LIMIT ? Math.min(MAX_LEASE, Math.floor(limit / 1_000)) : 0;
}

const windowOf = (at: number, periodMs: number) => at - (at % periodMs);

interface Held {
  windowStart: number;
  periodMs: number;
  units: number;
  /** The counter lacked room for a lease in this window: count send by send until it ends. */
  exhausted: boolean;
}

export interface SendLeases {
  /** Admits one send of `entry` from what is held for the window of `now`; false when nothing is. */
  use(entry: TakeEntry, now: number): boolean;
  /** What to ask for along with a batch: one lease per distinct key worth leasing that holds nothing. */
  asks(entries: readonly TakeEntry[], at: number): LeaseAsk[];
  /** Records what PostgreSQL counted for the window of `at`; keys asked for and not counted stop leasing. */
  granted(asked: readonly LeaseAsk[], leased: readonly LeaseAsk[], at: number): void;
  /** A send admitted from a lease and then not sent goes back to it while its window lasts. */
  putBack(entry: TakeEntry, takenAt: number): void;
  /** Keys held (for tests). */
  readonly size: number;
}

export function sendLeases(options: { maxKeys?: number; pruneEveryMs?: number } = {}): SendLeases {
  const { maxKeys = MAX_KEYS, pruneEveryMs = PRUNE_EVERY_MS } = options;
  const held = new Map<string, Held>();

  const current = (key: string, periodMs: number, at: number): Held | undefined => {
    const h = held.get(key);
    if (!h) return undefined;
    if (h.windowStart === windowOf(at, periodMs)) return h;
    held.delete(key);
    return undefined;
  };

  let prunedAt = -Infinity;
  const pruneEnded = (at: number) => {
    if (at - prunedAt < pruneEveryMs) return;
    prunedAt = at;
    for (const [key, h] of held) if (h.windowStart !== windowOf(at, h.periodMs)) held.delete(key);
  };

  return {
    use(entry, now) {
      const h = current(counterKey(entry), entry.periodMs, now);
      if (!h || h.units === 0) return false;
      h.units -= 1;
      return true;
    },
    asks(entries, at) {
      const asks = new Map<string, LeaseAsk>();
      for (const entry of entries) {
        const units = leaseSize(entry.limit);
        const key = counterKey(entry);
        if (units === 0 || asks.has(key)) continue;
        const h = current(key, entry.periodMs, at);
        if (h && (h.exhausted || h.units > 0)) continue;
        asks.set(key, { entry, units });
      }
      if (asks.size > 0 && held.size + asks.size > maxKeys) {
        pruneEnded(at);
        if (held.size + asks.size > maxKeys) return [];
      }
      return [...asks.values()];
    },
    granted(asked, leased, at) {
      const counted = new Set(leased.map((l) => counterKey(l.entry)));
      for (const ask of asked) {
        const key = counterKey(ask.entry);
        const windowStart = windowOf(at, ask.entry.periodMs);
        const h = current(key, ask.entry.periodMs, at) ?? { windowStart, periodMs: ask.entry.periodMs, units: 0, exhausted: false };
        if (counted.has(key)) h.units += ask.units;
        else h.exhausted = true;
        held.set(key, h);
      }
    },
    putBack(entry, takenAt) {
      const h = held.get(counterKey(entry));
      if (h && h.windowStart === windowOf(takenAt, entry.periodMs)) h.units += 1;
    },
    get size() {
      return held.size;
    },
  };
}
