// What the account-config console pages read: the same cache the HTTP API answers from, and the
// heartbeat's staleness limit.
import type { AccountConfigCache } from "../cache.ts";

export interface ConfigConsoleDeps {
  cache: AccountConfigCache;
  staleAfterMs: number;
}
