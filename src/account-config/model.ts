// The in-memory model (spec/account-config.md §6): account rows, one store per child table indexed by
// account, and the derived indexes (compiled regexes, IP and visitor matchers). A change set is applied
// synchronously, so a reader never sees half of a refresh.
//
// Child rows are indexed by account_id whether or not the account row is present: restoring a
// soft-deleted account brings its unchanged children back. Rows keep the DB's column names and only the
// columns consumers need (the bookkeeping columns are dropped by the query). A row that cannot be served
// (a pattern regex JavaScript cannot compile, say) is skipped and listed in `problems`; it never fails a
// refresh, and a later fix of the row clears the problem.
import { IpMatcher, type Mode } from "./ip-match.ts";
import type { ChangeRow } from "./queries.ts";
import { MAP_NAMES, MAP_OF_TABLE, TABLES, TOMBSTONE_CODE, type MapName } from "./tables.ts";


export type Row = Record<string, unknown> & { id: number; account_id: number | null };

export interface AccountRow {
  id: number;
  token: string;
  name: string;
  active: boolean;
  maintenance_until: string | null;
  timezone: string;
  connection_strings: Record<string, string>;
  visscore_queue: string | null;
}

/**
 * One child table: rows by id, and each account's rows in a small array (an account has a handful of rows
 * per table; a Map per account and table would cost more heap than the rows, goal G7).
 */
export class TableStore {
  readonly rows = new Map<number, Row>();
  readonly byAccount = new Map<number | null, Row[]>();

  /** Inserts or replaces a row; returns the account it left when it moved (or undefined). */
  upsert(row: Row): number | null | undefined {
    const previous = this.rows.get(row.id);
    this.rows.set(row.id, row);
    if (previous && previous.account_id === row.account_id) {
      const list = this.byAccount.get(row.account_id)!;
      list[list.indexOf(previous)] = row;
      return undefined;
    }
    if (previous) this.detach(previous);
    const list = this.byAccount.get(row.account_id);
    if (list) list.push(row);
    else this.byAccount.set(row.account_id, [row]);
    return previous?.account_id;
  }

  remove(id: number): Row | undefined {
    const previous = this.rows.get(id);
    if (!previous) return undefined;
    this.rows.delete(id);
    this.detach(previous);
    return previous;
  }

  /** The account's rows (null: the rows without an account, the global default patterns). */
  of(accountId: number | null): readonly Row[] {
    return this.byAccount.get(accountId) ?? EMPTY;
  }

  private detach(row: Row) {
    const list = this.byAccount.get(row.account_id);
    if (!list) return;
    list.splice(list.indexOf(row), 1);
    if (list.length === 0) this.byAccount.delete(row.account_id);
  }
}

const EMPTY: readonly Row[] = [];

/** Which columns of which map hold a regular expression that must compile. */
const REGEX_COLUMNS: Partial<Record<MapName, (row: Row) => string | null>> = {
  patterns: (row) => row.pattern as string,
  clientCookies: (row) => (row.value_regex as string | null) ?? null,
  clusterLookups: (row) => (row.match_type === "regex" ? (row.url as string) : null),
};

export interface ApplyResult {
  /** Rows (and tombstones) that changed something. */
  changed: number;
  /** Accounts whose own row changed (visscore checks look at these). */
  accountsChanged: Set<number>;
}

export class ConfigState {
  readonly accounts = new Map<number, AccountRow>();
  readonly byToken = new Map<string, number>();
  readonly tables = Object.fromEntries(MAP_NAMES.map((m) => [m, new TableStore()])) as Record<MapName, TableStore>;
  /** "table:id" → why the row is not served. */
  readonly problems = new Map<string, string>();
  /** The original's last_updated_*: the cache time of the last change per account and map (informational). */
  readonly lastUpdated = new Map<number, Partial<Record<MapName | "account", number>>>();
  private readonly ipIndex = new Map<number, IpMatcher>();
  private readonly visitorIndex = new Map<number, Map<string, Mode>>();

  /**
   * Applies a change set in the order of §7: tombstones, account rows, then child rows in the original
   * loop's order. Tombstones go first because a live row in the set is current by definition (a delete
   * and a reinsert of one id between two refreshes ends with the row).
   */
  apply(changes: readonly ChangeRow[], now: number): ApplyResult {
    const result: ApplyResult = { changed: 0, accountsChanged: new Set() };
    const touch = (accountId: number | null | undefined, map: MapName | "account") => {
      if (accountId === null || accountId === undefined) return;
      let stamps = this.lastUpdated.get(accountId);
      if (!stamps) this.lastUpdated.set(accountId, (stamps = {}));
      stamps[map] = now;
      if (map === "blacklistIps") this.ipIndex.delete(accountId);
      if (map === "blacklistVisitors") this.visitorIndex.delete(accountId);
    };
    for (const change of changes) {
      if (change.t !== TOMBSTONE_CODE) continue;
      const tableName = change.r.table_name as string;
      const id = Number(change.r.row_id);
      if (tableName === TABLES[0]!.name) {
        if (this.removeAccount(id)) result.changed += 1;
        result.accountsChanged.add(id);
        continue;
      }
      const map = MAP_OF_TABLE.get(tableName);
      const removed = map ? this.tables[map].remove(id) : undefined;
      if (map && removed) {
        this.forgetProblem(map, id);
        touch(removed.account_id, map);
        result.changed += 1;
      }
    }
    for (const change of changes) {
      if (change.t !== 0) continue;
      const row = change.r as unknown as AccountRow;
      if (change.d) this.removeAccount(row.id);
      else this.upsertAccount(row);
      touch(row.id, "account");
      result.accountsChanged.add(row.id);
      result.changed += 1;
    }
    for (let code = 1; code < TABLES.length; code += 1) {
      const map = TABLES[code]!.map!;
      const store = this.tables[map];
      for (const change of changes) {
        if (change.t !== code) continue;
        const row = change.r as Row;
        result.changed += 1;
        if (change.d || !this.servable(map, row)) {
          const removed = store.remove(row.id);
          touch(removed?.account_id, map);
          if (change.d) this.forgetProblem(map, row.id);
          continue;
        }
        const left = store.upsert(row);
        touch(left, map);
        touch(row.account_id, map);
      }
    }
    return result;
  }

  /** By id or by token (an all-digit token is found when no account has that id). */
  account(ref: string | number): AccountRow | undefined {
    if (typeof ref === "number") return this.accounts.get(ref);
    const byId = /^\d{1,15}$/.test(ref) ? this.accounts.get(Number(ref)) : undefined;
    if (byId) return byId;
    const id = this.byToken.get(ref);
    return id === undefined ? undefined : this.accounts.get(id);
  }

  ipMatcher(accountId: number): IpMatcher {
    let matcher = this.ipIndex.get(accountId);
    if (!matcher) {
      matcher = new IpMatcher();
      for (const row of this.tables.blacklistIps.of(accountId)) matcher.add(row.ip as string, row.mode as Mode);
      this.ipIndex.set(accountId, matcher);
    }
    return matcher;
  }

  visitorModes(accountId: number): ReadonlyMap<string, Mode> {
    let modes = this.visitorIndex.get(accountId);
    if (!modes) {
      modes = new Map();
      for (const row of this.tables.blacklistVisitors.of(accountId)) modes.set(row.visitor as string, row.mode as Mode);
      this.visitorIndex.set(accountId, modes);
    }
    return modes;
  }

  private upsertAccount(row: AccountRow) {
    // One spelling of the time, whatever the session's TimeZone: ISO-8601 UTC with milliseconds.
    if (row.maintenance_until !== null) row.maintenance_until = new Date(row.maintenance_until).toISOString();
    const previous = this.accounts.get(row.id);
    if (previous && previous.token !== row.token && this.byToken.get(previous.token) === row.id) this.byToken.delete(previous.token);
    this.accounts.set(row.id, row);
    this.byToken.set(row.token, row.id);
  }

  private removeAccount(id: number): boolean {
    const previous = this.accounts.get(id);
    if (!previous) return false;
    this.accounts.delete(id);
    if (this.byToken.get(previous.token) === id) this.byToken.delete(previous.token);
    return true;
  }

  /**
   * Checks that the row's regex, if it has one, compiles in JavaScript; a failure is recorded and the row
   * is not served. The compiled form is not kept: consumers compile what they use, and 40k RegExp objects
   * per 10k accounts would cost more heap than the rows themselves.
   */
  private servable(map: MapName, row: Row): boolean {
    const source = REGEX_COLUMNS[map]?.(row);
    const key = `${map}:${row.id}`;
    if (source === undefined || source === null) {
      if (this.problems.size > 0) this.problems.delete(key);
      return true;
    }
    try {
      new RegExp(source);
      if (this.problems.size > 0) this.problems.delete(key);
      return true;
    } catch (error) {
      this.problems.set(key, `${TABLES.find((t) => t.map === map)!.name} row ${row.id}: ${(error as Error).message}`);
      return false;
    }
  }

  private forgetProblem(map: MapName, id: number) {
    if (this.problems.size > 0) this.problems.delete(`${map}:${id}`);
  }
}
