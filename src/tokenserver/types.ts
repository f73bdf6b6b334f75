// Terms used across src/tokenserver (glossary):
//   user record  one row of `users`: an (email, service) pair's assignment to a node at a generation.
//   active       replaced_at IS NULL. Replaced rows wait for purge-old-records.
//   retired      generation = MAX_GENERATION: the account was deleted.
//   generation   FxA's generation high-water mark (a ms timestamp). Never moves backwards.
//   kid          fxa_kid: "<keys_changed_at or generation, 13 digits>-<base64url(client_state bytes)>".

/** 2^63-1: the "retired" tombstone. A JS number cannot hold it. */
export const MAX_GENERATION = 9223372036854775807n;
export const SERVICE_NAME = "sync-1.5";

/** What get_user / allocate_user / update_user return (database.py's user dict). */
export interface TokenserverUser {
  email: string;
  uid: bigint;
  node: string;
  generation: bigint;
  keysChangedAt: bigint;
  /**
   * Set when database.py's dict would hold None for keys_changed_at (allocate_user given None, or a
   * re-allocation copying a NULL column); keysChangedAt is then 0n. update_user keeps writing NULL
   * rather than 0 while it is set, as the original does. get_user's own `or 0` never sets it.
   */
  keysChangedAtIsNull?: boolean;
  clientState: string;
  /** client states seen on older rows (a Set of database.py's dict keys). */
  oldClientStates: Set<string>;
  firstSeenAt: bigint;
}

/** A row of get_old_user_records. */
export interface OldUserRecord {
  uid: bigint;
  email: string;
  generation: bigint;
  keysChangedAt: bigint | null;
  clientState: string;
  node: string | null;
  downed: number | null;
  createdAt: bigint;
  replacedAt: bigint;
}

/** A row of get_user_records (used by tests and admin tools). */
export interface UserRecordSummary {
  uid: bigint;
  node: string | null;
  createdAt: bigint;
  replacedAt: bigint | null;
}

export interface NodeRow {
  id: bigint;
  service: number;
  node: string;
  available: number;
  currentLoad: number;
  capacity: number;
  downed: number;
  backoff: number;
}
