// How fresh the cache and each account in it are, for the operator console (GET /__heartbeat__ answers
// the same question for the whole cache, through heartbeat.ts). The cache holds every account as of its
// last refresh; per account, lastUpdated says when each of its maps was last loaded or changed (a full
// load stamps them all). Accounts come a page at a time in id order, keyset on the id, from memory.
import type { AccountConfigCache } from "./cache.ts";
import type { AccountRow } from "./model.ts";
import type { MapName } from "./tables.ts";
import { inMaintenance } from "./view.ts";

export interface CacheFreshness {
  ready: boolean;
  now: number;
  /** The last successful refresh: the whole cache is current as of then. */
  lastRefreshAt: number | null;
  lastRefreshMode: "full" | "delta" | null;
  ageMs: number | null;
  lastFullLoadAt: number | null;
  /** /__heartbeat__ answers 503 once ageMs reaches this. */
  staleAfterMs: number;
  stale: boolean;
  generation: number;
  accounts: number;
}

export function cacheFreshness(cache: AccountConfigCache, staleAfterMs: number): CacheFreshness {
  const now = cache.now();
  const last = cache.lastRefresh;
  const ageMs = last ? Math.max(0, now - last.at) : null;
  return {
    ready: cache.ready,
    now,
    lastRefreshAt: last?.at ?? null,
    lastRefreshMode: last?.mode ?? null,
    ageMs,
    lastFullLoadAt: cache.lastFullLoadAt || null,
    staleAfterMs,
    // The heartbeat's rule (heartbeat.ts): fresh while loaded and younger than staleAfterMs.
    stale: !(cache.ready && ageMs !== null && ageMs < staleAfterMs),
    generation: cache.generation,
    accounts: cache.state.accounts.size,
  };
}

export interface AccountFreshness {
  id: number;
  token: string;
  name: string;
  active: boolean;
  inMaintenance: boolean;
  /** When anything of the account was last loaded or changed in the cache (null: never stamped). */
  lastChangeAt: number | null;
  /** The maps (and "account" for its own row) stamped at lastChangeAt. */
  lastChanged: (MapName | "account")[];
}

export interface AccountsPage {
  accounts: AccountFreshness[];
  /** The cursor (an id) of the next page; absent on the last. */
  next?: string;
}

function freshnessOf(cache: AccountConfigCache, account: AccountRow, now: number): AccountFreshness {
  const stamps = cache.state.lastUpdated.get(account.id) ?? {};
  const entries = Object.entries(stamps) as [MapName | "account", number][];
  const lastChangeAt = entries.length ? Math.max(...entries.map(([, at]) => at)) : null;
  return {
    id: account.id,
    token: account.token,
    name: account.name,
    active: account.active,
    inMaintenance: inMaintenance(account, now),
    lastChangeAt,
    lastChanged: entries.filter(([, at]) => at === lastChangeAt).map(([map]) => map).sort(),
  };
}

/**
 * Accounts with id above `after`, `limit` at a time, in id order; `query` keeps those whose token or
 * name contains it (any case). One pass over the accounts keeping the `limit + 1` smallest ids, so a
 * page costs O(accounts) however deep it is, with no sorted copy of the whole list.
 */
export function accountsPage(cache: AccountConfigCache, options: { after?: number; limit: number; query?: string }): AccountsPage {
  const after = options.after ?? -Infinity;
  const query = options.query?.trim().toLowerCase() || undefined;
  const want = options.limit + 1;
  const chosen: AccountRow[] = [];
  for (const account of cache.state.accounts.values()) {
    if (account.id <= after) continue;
    if (chosen.length === want && account.id >= chosen[want - 1]!.id) continue;
    if (query && !account.token.includes(query) && !account.name.toLowerCase().includes(query)) continue;
    let i = chosen.length;
    while (i > 0 && chosen[i - 1]!.id > account.id) i -= 1;
    chosen.splice(i, 0, account);
    if (chosen.length > want) chosen.pop();
  }
  const now = cache.now();
  const shown = chosen.slice(0, options.limit);
  return {
    accounts: shown.map((a) => freshnessOf(cache, a, now)),
    ...(chosen.length > options.limit ? { next: String(shown.at(-1)!.id) } : {}),
  };
}
