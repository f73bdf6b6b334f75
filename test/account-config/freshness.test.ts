// Freshness for the console: the cache's age against the heartbeat's limit, and accounts a page at a
// time in id order (keyset on the id, from memory), each with when it was last loaded or changed.
import { describe, expect, test } from "bun:test";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { accountsPage, cacheFreshness } from "../../src/account-config/freshness.ts";
import type { ChangeRow } from "../../src/account-config/queries.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { manualClock } from "../support/account-config.ts";

const account = (id: number, token: string, name = token.toUpperCase()) => ({ t: 0, d: false, r: { id, token, name, active: true, maintenance_until: null, timezone: "UTC", connection_strings: {}, visscore_queue: null } });

describe("cacheFreshness", () => {
  test("not ready, then fresh, then stale exactly at staleAfterMs (the heartbeat's rule)", () => {
    const clock = manualClock();
    const cache = new AccountConfigCache({ now: clock.now });
    expect(cacheFreshness(cache, 30_000)).toMatchObject({ ready: false, stale: true, lastRefreshAt: null, ageMs: null, lastFullLoadAt: null });
    cache.frontier = { snapshot: "1:1:", xmin: "1", epoch: "1" };
    cache.lastRefresh = { at: clock.now(), mode: "full", durationMs: 1, changedRows: 0 };
    clock.advance(29_999);
    expect(cacheFreshness(cache, 30_000)).toMatchObject({ ready: true, stale: false, ageMs: 29_999, lastRefreshMode: "full" });
    clock.advance(1);
    expect(cacheFreshness(cache, 30_000)).toMatchObject({ stale: true, ageMs: 30_000 });
  });
});

describe("accountsPage", () => {
  test("id order whatever the load order, pages joined by their cursor are the whole list, once each", () => {
    const cache = new AccountConfigCache();
    const random = seededRandom(7);
    const ids = [...new Set(Array.from({ length: 500 }, () => 1 + Math.floor(random() * 100_000)))];
    cache.state.apply(ids.map((id) => account(id, `a${id}`)), 1000);
    const seen: number[] = [];
    let after: number | undefined;
    for (let pages = 0; ; pages += 1) {
      const page = accountsPage(cache, { limit: 37, ...(after !== undefined ? { after } : {}) });
      seen.push(...page.accounts.map((a) => a.id));
      if (!page.next) break;
      expect(page.accounts.length).toBe(37);
      after = Number(page.next);
    }
    expect(seen).toEqual([...ids].sort((a, b) => a - b));
  });

  test("an exact multiple of the page size has no empty last page; the query matches token or name in any case", () => {
    const cache = new AccountConfigCache();
    cache.state.apply([account(3, "gamma", "Third <b>"), account(1, "alpha"), account(2, "beta")], 1000);
    expect(accountsPage(cache, { limit: 3 })).toEqual({ accounts: expect.any(Array) });
    expect(accountsPage(cache, { limit: 2 }).next).toBe("2");
    expect(accountsPage(cache, { limit: 2, after: 2 }).accounts.map((a) => a.id)).toEqual([3]);
    expect(accountsPage(cache, { limit: 10, query: "BET" }).accounts.map((a) => a.token)).toEqual(["beta"]);
    expect(accountsPage(cache, { limit: 10, query: "third" }).accounts.map((a) => a.token)).toEqual(["gamma"]);
  });

  test("last change: the newest stamp of the account and which maps it covers", () => {
    const cache = new AccountConfigCache();
    cache.state.apply([account(1, "alpha")], 1000);
    cache.state.apply([{ t: 9, d: false, r: { id: 5, account_id: 1, ip: "10.0.0.0/8", mode: "discard", note: null } }], 2000);
    const [a] = accountsPage(cache, { limit: 1 }).accounts;
    expect(a).toMatchObject({ id: 1, token: "alpha", lastChangeAt: 2000, lastChanged: ["blacklistIps"] });
    cache.state.apply([account(1, "alpha"), { t: 10, d: false, r: { id: 6, account_id: 1, visitor: "a".repeat(32), mode: "discard", note: null } }] as ChangeRow[], 3000);
    expect(accountsPage(cache, { limit: 1 }).accounts[0]).toMatchObject({ lastChangeAt: 3000, lastChanged: ["account", "blacklistVisitors"] });
  });
});
