// The cache (the original's AccountList, spec/account-config.md §6–§7): one `refresh()` reads one
// consistent snapshot and applies only what changed since the previous one. It has no timers and no
// listener of its own: the runner (runner.ts) decides when to refresh, tests and `dump` call it directly.
//
// A refresh is a full load when there is no frontier yet, when the TRUNCATE epoch moved, or when the
// last full load is older than `fullReloadIntervalMs`; otherwise a delta. A failed refresh applies
// nothing and leaves the frontier where it was, so the next one reads the same changes again.
import type { Sql } from "../db/client.ts";
import { ConfigState, type AccountRow } from "./model.ts";
import { readAllRows, readChangedRows, readFrontier, type Frontier } from "./queries.ts";
import type { VisscoreChecker } from "./visscore.ts";

export interface RefreshInfo {
  at: number;
  mode: "full" | "delta";
  durationMs: number;
  changedRows: number;
}

export interface CacheOptions {
  now?: () => number;
  /** Default 1 h. */
  fullReloadIntervalMs?: number;
  /** Per statement of a delta refresh (default 5 s). */
  statementTimeoutMs?: number;
  /** For the full load's one statement (default 120 s). */
  fullLoadTimeoutMs?: number;
  /** Absent: visscore is not checked (the state stays empty). */
  visscore?: VisscoreChecker;
}

export class AccountConfigCache {
  state = new ConfigState();
  frontier: Frontier | null = null;
  /** +1 per full load and per delta that changed anything: the ETag of every response. */
  generation = 0;
  lastRefresh: RefreshInfo | null = null;
  private lastFullAt = 0;
  readonly now: () => number;
  readonly visscore: VisscoreChecker | undefined;

  constructor(private readonly options: CacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.visscore = options.visscore;
  }

  /** When the state was last loaded in full (0: never). */
  get lastFullLoadAt(): number {
    return this.lastFullAt;
  }

  get ready(): boolean {
    return this.frontier !== null;
  }

  /** One refresh cycle; the visscore checks it starts run on (await `visscore.settled()` to wait for them). */
  async refresh(sql: Sql, options: { full?: boolean } = {}): Promise<RefreshInfo> {
    const started = performance.now();
    const previous = this.frontier;
    const dueFull = this.now() - this.lastFullAt >= (this.options.fullReloadIntervalMs ?? 3_600_000);
    const read = await sql.begin("isolation level repeatable read read only", async (tx) => {
      const current = await readFrontier(tx as unknown as Sql, this.options.statementTimeoutMs ?? 5_000);
      const full = options.full === true || previous === null || previous.epoch !== current.epoch || dueFull;
      const rows = full ? await readAllRows(tx as unknown as Sql, this.options.fullLoadTimeoutMs ?? 120_000) : await readChangedRows(tx as unknown as Sql, previous);
      return { current, full, rows };
    });
    // Everything below is synchronous: readers see the old state or the new one, nothing between.
    const now = this.now();
    let changedRows: number;
    let accountsChanged: Iterable<number>;
    if (read.full) {
      const fresh = new ConfigState();
      fresh.apply(read.rows, now);
      this.state = fresh;
      this.lastFullAt = now;
      changedRows = read.rows.length;
      accountsChanged = fresh.accounts.keys();
    } else {
      const applied = this.state.apply(read.rows, now);
      changedRows = applied.changed;
      accountsChanged = applied.accountsChanged;
    }
    this.frontier = read.current;
    if (read.full || changedRows > 0) this.generation += 1;
    this.scheduleVisscore(read.full ? undefined : accountsChanged);
    this.lastRefresh = { at: now, mode: read.full ? "full" : "delta", durationMs: performance.now() - started, changedRows };
    return this.lastRefresh;
  }

  /** After a delta, only the accounts whose row changed plus those with a retry due are looked at. */
  private scheduleVisscore(changed: Iterable<number> | undefined) {
    const checker = this.visscore;
    if (!checker) return;
    const state = this.state;
    const candidates: AccountRow[] = [];
    if (changed === undefined) {
      candidates.push(...state.accounts.values());
    } else {
      const ids = new Set(changed);
      for (const [id, s] of checker.states) if (s.status === "missing" || s.status === "error") ids.add(id);
      for (const id of ids) {
        const account = state.accounts.get(id);
        if (account) candidates.push(account);
      }
    }
    checker.schedule(candidates, (id) => state.accounts.has(id));
  }
}
