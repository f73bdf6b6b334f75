// The tracked tables, in the original loop's order (spec/account-config.md §2 point 8), and the name of
// the in-memory map each child table fills. The position in TABLES is the table code the SQL returns
// with every row (queries.ts), so the two lists must stay in the same order.

export const MAP_NAMES = [
  "events",
  "patterns",
  "clusters",
  "clusterLookups",
  "clientCookies",
  "pathReplacements",
  "endpoints",
  "domains",
  "blacklistIps",
  "blacklistVisitors",
  "children",
] as const;
export type MapName = (typeof MAP_NAMES)[number];

export interface TrackedTable {
  /** schema.table, as the tombstone trigger writes it. */
  name: string;
  /** undefined for attrib_account itself. */
  map?: MapName;
}

export const TABLES: readonly TrackedTable[] = [
  { name: "attrib.attrib_account" },
  { name: "attrib_client.attrib_event", map: "events" },
  { name: "attrib_client.attrib_pattern", map: "patterns" },
  { name: "attrib_client.attrib_autoevent_cluster", map: "clusters" },
  { name: "attrib_client.attrib_autoevent_cluster_lookup", map: "clusterLookups" },
  { name: "attrib_client.attrib_client_cookie", map: "clientCookies" },
  { name: "attrib_client.attrib_path_replacements", map: "pathReplacements" },
  { name: "attrib_client.attrib_endpoints", map: "endpoints" },
  { name: "attrib_client.attrib_domains", map: "domains" },
  { name: "attrib_client.attrib_blacklist_ip", map: "blacklistIps" },
  { name: "attrib_client.attrib_blacklist_visitors", map: "blacklistVisitors" },
  { name: "attrib.attrib_account_group", map: "children" },
];

/** The code of attrib.config_tombstone rows in a change set. */
export const TOMBSTONE_CODE = TABLES.length;

export const MAP_OF_TABLE: ReadonlyMap<string, MapName> = new Map(TABLES.filter((t) => t.map).map((t) => [t.name, t.map!]));

/** Every table the tool needs, for the start-up schema check. */
export const SCHEMA_TABLES = [...TABLES.map((t) => t.name), "attrib.config_tombstone", "attrib.config_epoch"] as const;
