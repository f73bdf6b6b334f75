// What readers get (spec/account-config.md §6, §9): the original's Account with its child dicts, built on
// read from the model. `GET /accounts/:ref` and `dump` serialise through these functions, so the two can
// never disagree. Keys come in a fixed order and rows in id order, so equal states give equal bytes.
// Connection strings are secrets: every view redacts them unless the caller asks for them explicitly.
import type { AccountRow, ConfigState, Row } from "./model.ts";
import { MAP_NAMES, type MapName } from "./tables.ts";
import type { VisscoreState } from "./visscore.ts";

export const REDACTED = "<redacted>";

export interface ViewOptions {
  now: number;
  includeSecrets?: boolean;
  /** The original's last_updated_* (cache times, so not part of a database dump). */
  lastUpdated?: boolean;
  visscore?: VisscoreState;
}

const byId = (a: Row, b: Row) => a.id - b.id;

export function inMaintenance(account: AccountRow, now: number): boolean {
  return account.maintenance_until !== null && Date.parse(account.maintenance_until) > now;
}

export function connectionStrings(account: AccountRow, includeSecrets: boolean): Record<string, string> {
  if (includeSecrets) return account.connection_strings;
  return Object.fromEntries(Object.keys(account.connection_strings).map((name) => [name, REDACTED]));
}

/** A lookup is served only while its cluster and its event are present and active (§6). */
function servedLookups(state: ConfigState, accountId: number): Row[] {
  const { clusters, events, clusterLookups } = state.tables;
  return clusterLookups.of(accountId).filter((lookup) => {
    const cluster = clusters.rows.get(lookup.cluster_id as number);
    const event = events.rows.get(lookup.event_id as number);
    return cluster?.active === true && cluster.account_id === accountId && event?.active === true && event.account_id === accountId;
  });
}

/** The account's own active patterns plus the active global defaults, in (priority, id) order. */
export function effectivePatterns(state: ConfigState, accountId: number): Row[] {
  const active = (rows: readonly Row[]) => rows.filter((row) => row.active === true);
  return [...active(state.tables.patterns.of(accountId)), ...active(state.tables.patterns.of(null))].sort(
    (a, b) => (a.priority as number) - (b.priority as number) || a.id - b.id,
  );
}

/** The present direct children (not transitive), in id order. */
export function childAccounts(state: ConfigState, accountId: number): AccountRow[] {
  const children: AccountRow[] = [];
  for (const edge of state.tables.children.of(accountId)) {
    const child = state.accounts.get(edge.child_account_id as number);
    if (child) children.push(child);
  }
  return children.sort((a, b) => a.id - b.id);
}

export function accountSummary(state: ConfigState, now: number) {
  return [...state.accounts.values()]
    .sort((a, b) => a.id - b.id)
    .map((a) => ({ id: a.id, token: a.token, name: a.name, active: a.active, inMaintenance: inMaintenance(a, now) }));
}

export function accountView(state: ConfigState, account: AccountRow, options: ViewOptions) {
  const maps = {} as Record<MapName, Row[]>;
  for (const map of MAP_NAMES) {
    maps[map] = map === "clusterLookups" ? servedLookups(state, account.id) : [...state.tables[map].of(account.id)];
    maps[map].sort(byId);
  }
  const v = options.visscore;
  const view = {
    id: account.id,
    token: account.token,
    name: account.name,
    active: account.active,
    maintenance_until: account.maintenance_until,
    inMaintenance: inMaintenance(account, options.now),
    timezone: account.timezone,
    connection_strings: connectionStrings(account, options.includeSecrets === true),
    visscore_queue: account.visscore_queue,
    visscore: v ? { desired: v.desired, resolved: v.resolved, url: v.url, status: v.status } : { desired: account.visscore_queue, resolved: null, url: null, status: "none" },
    ...maps,
    effectivePatterns: effectivePatterns(state, account.id),
    childAccounts: childAccounts(state, account.id).map((c) => c.token).sort(),
  };
  if (!options.lastUpdated) return view;
  const stamps = state.lastUpdated.get(account.id) ?? {};
  const lastUpdated = Object.fromEntries(
    Object.entries(stamps)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([map, at]) => [map, new Date(at).toISOString()]),
  );
  return { ...view, lastUpdated };
}

export type AccountView = ReturnType<typeof accountView>;

export function defaultPatterns(state: ConfigState): Row[] {
  return [...state.tables.patterns.of(null)].sort(byId);
}
