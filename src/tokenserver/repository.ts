// The shared tokenserver DB layer: a port of syncstorage-rs tools/tokenserver/database.py with the same
// semantics (spec/tokenserver.md §2), on PostgreSQL through postgres.js. Every statement autocommits on its
// own (the original runs in AUTOCOMMIT mode), so multi-statement methods are not atomic, as upstream.
import { SetupError } from "../core/errors.ts";
import type { Sql } from "../db/client.ts";
import { isTransientDbError } from "../db/errors.ts";
import { missingTables } from "../db/missing-tables.ts";
import * as q from "./queries.ts";
import {
  MAX_GENERATION,
  SERVICE_NAME,
  type NodeRow,
  type OldUserRecord,
  type TokenserverUser,
  type UserRecordSummary,
} from "./types.ts";

export interface RepositoryOptions {
  /** SYNC_TOKENSERVER__SPANNER_NODE_ID, as the environment gives it; "" means unset, as in Python. */
  spannerNodeId?: string;
  /** NODE_CAPACITY_RELEASE_RATE; default 0.1. */
  capacityReleaseRate?: number;
  /** The clock, in ms; default BigInt(Date.now()). */
  now?: () => bigint;
}

/** database.py's ValueError("unknown node: ..."): update_user falls back to the best node on it, and only it. */
export class UnknownNodeError extends Error {
  override readonly name = "UnknownNodeError";
  constructor(readonly node: string) {
    super(`unknown node: ${node}`);
  }
}

/** The parts of a user that make up its kid. */
export interface UserKeyState {
  generation: bigint;
  keysChangedAt: bigint;
  clientState: string;
}

export type UidRangeBound = bigint | string | null | undefined;

export interface AllocateUserOptions {
  generation?: bigint;
  clientState?: string;
  /** null is stored as NULL; omitted means 0, the original's default. */
  keysChangedAt?: bigint | null;
  /** An explicit node; it is not load-accounted (as upstream). */
  node?: string;
  timestamp?: bigint;
}

export interface UpdateUserOptions {
  generation?: bigint | null;
  clientState?: string;
  keysChangedAt?: bigint | null;
  node?: string;
}

export interface OldUserRecordsOptions {
  /** Seconds; negative means one week. */
  gracePeriod?: number;
  limit?: number;
  offset?: number;
  /** Exclusive bounds, each applied only when truthy (so the CLI's string "0" applies). */
  uidRange?: readonly [UidRangeBound, UidRangeBound] | null;
  /** Additions for purge-old-records (none of them is in the original query). */
  excludeUids?: readonly bigint[];
  excludeNodes?: readonly string[];
  skipDowned?: boolean;
  afterUid?: bigint;
}

export interface AddNodeOptions {
  available?: number;
  currentLoad?: number;
  downed?: boolean;
  backoff?: boolean;
  nodeId?: bigint;
}

export type NodeChanges = Partial<{
  capacity: number;
  available: number;
  currentLoad: number;
  downed: boolean | number;
  backoff: boolean | number;
}>;

export interface TokenserverRepository {
  /** SYNC_TOKENSERVER__SPANNER_NODE_ID when set: that node takes everyone and its load is not tracked. */
  readonly spannerNodeId: string | null;
  serviceId(): Promise<number>;
  checkSchema(): Promise<void>;
  getUser(email: string): Promise<TokenserverUser | null>;
  /** What getUser would report about the user's keys, without its allocation side effect (--dryrun). */
  peekUser(email: string): Promise<UserKeyState | null>;
  allocateUser(email: string, opts?: AllocateUserOptions): Promise<TokenserverUser>;
  getBestNode(): Promise<{ id: bigint; node: string }>;
  updateUser(user: TokenserverUser, opts: UpdateUserOptions): Promise<void>;
  retireUser(email: string): Promise<void>;
  replaceUserRecords(email: string, timestamp?: bigint): Promise<void>;
  replaceUserRecord(uid: bigint, timestamp?: bigint): Promise<void>;
  getUserRecords(email: string): Promise<UserRecordSummary[]>;
  getOldUserRecords(opts: OldUserRecordsOptions): Promise<OldUserRecord[]>;
  countOldUserRecords(gracePeriod?: number): Promise<bigint>;
  deleteUserRecord(uid: bigint): Promise<void>;
  countUsers(timestamp?: bigint): Promise<bigint>;
  addNode(node: string, capacity: number, opts?: AddNodeOptions): Promise<bigint>;
  getNodeId(node: string): Promise<bigint>;
  getNode(node: string): Promise<NodeRow | null>;
  updateNode(node: string, changes: NodeChanges): Promise<void>;
  removeNode(node: string): Promise<void>;
  unassignNode(node: string): Promise<void>;
}

const ONE_WEEK_SECONDS = 60 * 60 * 24 * 7;
const BEST_NODE_ATTEMPTS = 5;
const NODE_FIELDS = new Set(["capacity", "available", "currentLoad", "downed", "backoff"]);

const maxBigint = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** database.py max_keys_changed_at: the larger of the non-null values, or null when both are null. */
function maxKeysChangedAt(user: TokenserverUser, given: bigint | null): bigint | null {
  const current = user.keysChangedAtIsNull ? null : user.keysChangedAt;
  if (given === null) return current;
  if (current === null) return given;
  return maxBigint(given, current);
}

/** Stores a possibly-null keys_changed_at in the user the way database.py's dict holds it. */
function setKeysChangedAt(user: TokenserverUser, value: bigint | null): void {
  user.keysChangedAt = value ?? 0n;
  if (value === null) user.keysChangedAtIsNull = true;
  else delete user.keysChangedAtIsNull;
}

/** Python truthiness for a uid bound: None, "" and 0 are false; the string "0" is true. */
function truthyBound(bound: UidRangeBound): bigint | string | null {
  return bound === null || bound === undefined || bound === "" || bound === 0n ? null : bound;
}

function toNodeRow(r: q.NodeTableRow): NodeRow {
  return {
    id: r.id,
    service: r.service,
    node: r.node,
    available: r.available,
    currentLoad: r.current_load,
    capacity: r.capacity,
    downed: r.downed,
    backoff: r.backoff,
  };
}

export function createTokenserverRepository(sql: Sql, options: RepositoryOptions = {}): TokenserverRepository {
  const now = options.now ?? (() => BigInt(Date.now()));
  const releaseRate = options.capacityReleaseRate ?? 0.1;
  // Python tests `if self.spanner_node_id:`, so an empty value is no spanner node.
  const spannerNodeId = options.spannerNodeId ? options.spannerNodeId : null;
  let cachedServiceId: number | null = null;
  let spannerNode: { id: bigint; node: string } | null = null;

  async function serviceId(): Promise<number> {
    if (cachedServiceId !== null) return cachedServiceId;
    const id = await q.selectServiceId(sql, SERVICE_NAME);
    if (id === null) throw new Error(`unknown service: ${SERVICE_NAME}`);
    cachedServiceId = id;
    return id;
  }

  async function loadSpannerNode(id: string): Promise<{ id: bigint; node: string }> {
    if (spannerNode) return spannerNode;
    const row = await q.selectSpannerNode(sql, id);
    if (!row) throw new Error(`unknown node: ${id}`);
    spannerNode = { id: row.id, node: String(row.node) };
    return spannerNode;
  }

  async function getNodeId(node: string): Promise<bigint> {
    const id = await q.selectNodeId(sql, await serviceId(), node);
    if (id === null) throw new UnknownNodeError(node);
    return id;
  }

  async function getBestNode(): Promise<{ id: bigint; node: string }> {
    // The spanner node takes everyone, with no load accounting.
    if (spannerNodeId !== null) return await loadSpannerNode(spannerNodeId);
    const service = await serviceId();
    let row: { id: bigint; node: string } | null = null;
    for (let attempt = 0; attempt < BEST_NODE_ATTEMPTS; attempt++) {
      row = await q.selectBestNode(sql, service);
      if (row) break;
      // Nothing has a free slot: release more capacity on nodes that are not full, then look again.
      if ((await q.releaseNodeCapacity(sql, service, releaseRate)) === 0) break;
    }
    if (!row) throw new Error("unable to get a node");
    const node = String(row.node);
    // Racy against concurrent allocations, as upstream; the load is a hint, not a constraint.
    await q.addUserToNode(sql, service, node);
    return { id: row.id, node };
  }

  async function allocateUser(email: string, opts: AllocateUserOptions = {}): Promise<TokenserverUser> {
    const generation = opts.generation ?? 0n;
    const clientState = opts.clientState ?? "";
    const keysChangedAt = opts.keysChangedAt === undefined ? 0n : opts.keysChangedAt;
    const timestamp = opts.timestamp ?? now();
    let nodeId: bigint;
    let node: string;
    if (opts.node == null) {
      ({ id: nodeId, node } = await getBestNode());
    } else {
      node = opts.node;
      nodeId = await getNodeId(node);
    }
    const uid = await q.insertUserRecord(sql, {
      service: await serviceId(),
      email,
      nodeId,
      generation,
      keysChangedAt,
      clientState,
      timestamp,
    });
    const user: TokenserverUser = {
      email,
      uid,
      node,
      generation,
      keysChangedAt: 0n,
      clientState,
      oldClientStates: new Set(),
      firstSeenAt: timestamp,
    };
    setKeysChangedAt(user, keysChangedAt);
    return user;
  }

  async function replaceUserRecord(uid: bigint, timestamp?: bigint): Promise<void> {
    await q.replaceUserRecord(sql, await serviceId(), uid, timestamp ?? now());
  }

  async function replaceUserRecords(email: string, timestamp?: bigint): Promise<void> {
    await q.replaceUserRecords(sql, await serviceId(), email, timestamp ?? now());
  }

  /** The user's rows, current first: the highest (generation, created_at). */
  async function userRowsCurrentFirst(email: string) {
    const rows = await q.selectUserRecords(sql, await serviceId(), email);
    // Rows come newest first; a race in row creation can put a lower generation there, so the current
    // row is the highest (generation, created_at). Array.sort is stable: ties keep the SQL order.
    rows.sort((a, b) => {
      if (a.generation !== b.generation) return a.generation < b.generation ? 1 : -1;
      if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
      return 0;
    });
    return rows;
  }

  async function peekUser(email: string): Promise<UserKeyState | null> {
    // get_user would copy these values into a new row when it re-allocates, so they are its answer.
    const [cur] = await userRowsCurrentFirst(email);
    if (!cur) return null;
    return { generation: cur.generation, keysChangedAt: cur.keys_changed_at ?? 0n, clientState: cur.client_state };
  }

  async function getUser(email: string): Promise<TokenserverUser | null> {
    const [cur, ...old] = await userRowsCurrentFirst(email);
    if (!cur) return null;
    let user: TokenserverUser = {
      email,
      uid: cur.uid,
      // database.py gives None here for a retired user whose node row was deleted; our type has no null.
      node: cur.node ?? "",
      generation: cur.generation,
      keysChangedAt: cur.keys_changed_at ?? 0n,
      clientState: cur.client_state,
      oldClientStates: new Set(),
      firstSeenAt: cur.created_at,
    };
    // A replaced or nodeless current row means the user needs a new node, unless they are retired.
    if ((cur.replaced_at !== null || cur.node === null) && cur.generation < MAX_GENERATION) {
      user = await allocateUser(email, {
        generation: cur.generation,
        clientState: cur.client_state,
        keysChangedAt: cur.keys_changed_at,
      });
    }
    for (const row of old) {
      if (row.client_state !== user.clientState) user.oldClientStates.add(row.client_state);
      // Racy creation can leave older rows active; retire them at the current row's creation time.
      if (row.replaced_at === null) await replaceUserRecord(row.uid, cur.created_at);
      // Walks back to the oldest row still on record.
      user.firstSeenAt = row.created_at;
    }
    return user;
  }

  async function updateUser(user: TokenserverUser, opts: UpdateUserOptions): Promise<void> {
    const generation = opts.generation ?? null;
    const keysChangedAt = opts.keysChangedAt === undefined ? null : opts.keysChangedAt;
    if (opts.clientState == null && opts.node == null) {
      // Same keys, same node: update the active row in place (it never moves backwards).
      await q.updateUserRecordInPlace(sql, {
        service: await serviceId(),
        email: user.email,
        generation,
        keysChangedAt,
      });
      if (generation !== null) user.generation = maxBigint(user.generation, generation);
      setKeysChangedAt(user, maxKeysChangedAt(user, keysChangedAt));
      return;
    }

    let clientState: string;
    if (opts.clientState == null) {
      clientState = user.clientState;
    } else {
      clientState = opts.clientState;
      if (clientState === user.clientState || user.oldClientStates.has(clientState)) {
        throw new Error("previously seen client-state string");
      }
    }
    // New keys or a new node need a new row. Keep the user's node unless told otherwise, or it is gone.
    let nodeId: bigint;
    if (opts.node != null) {
      nodeId = await getNodeId(opts.node);
      user.node = opts.node;
    } else {
      // Upstream concatenates None into its error message here and fails with a TypeError.
      if (user.node === "") throw new TypeError("user has no node to keep");
      try {
        nodeId = await getNodeId(user.node);
      } catch (error) {
        if (!(error instanceof UnknownNodeError)) throw error;
        const best = await getBestNode();
        nodeId = best.id;
        user.node = best.node;
      }
    }
    const newGeneration = generation !== null ? maxBigint(user.generation, generation) : user.generation;
    const newKeysChangedAt = maxKeysChangedAt(user, keysChangedAt);
    const timestamp = now();
    const uid = await q.insertUserRecord(sql, {
      service: await serviceId(),
      email: user.email,
      nodeId,
      generation: newGeneration,
      keysChangedAt: newKeysChangedAt,
      clientState,
      timestamp,
    });
    user.uid = uid;
    user.generation = newGeneration;
    setKeysChangedAt(user, newKeysChangedAt);
    // As upstream, the previous state is recorded even when only the node changed.
    user.oldClientStates.add(user.clientState);
    user.clientState = clientState;
    // If this fails the old rows stay active until the next get_user repairs them; the new row is intact.
    await replaceUserRecords(user.email, timestamp);
  }

  /** now − grace (seconds, truncated to whole ms like int(grace*1000)); a negative grace is one week. */
  function cutoff(gracePeriod = -1): bigint {
    const grace = gracePeriod < 0 ? ONE_WEEK_SECONDS : gracePeriod;
    return now() - BigInt(Math.trunc(grace * 1000));
  }

  async function getOldUserRecords(opts: OldUserRecordsOptions = {}): Promise<OldUserRecord[]> {
    let start: bigint | string | null = null;
    let end: bigint | string | null = null;
    if (opts.uidRange) {
      start = truthyBound(opts.uidRange[0]);
      end = truthyBound(opts.uidRange[1]);
      // Upstream builds "and  and" from a range with no bounds and the statement fails; fail clearly.
      if (start === null && end === null) throw new Error("uid range has neither a start nor an end");
    }
    const rows = await q.selectOldUserRecords(sql, {
      service: await serviceId(),
      timestamp: cutoff(opts.gracePeriod),
      limit: opts.limit ?? 100,
      offset: opts.offset ?? 0,
      start,
      end,
      excludeUids: opts.excludeUids,
      excludeNodes: opts.excludeNodes,
      skipDowned: opts.skipDowned,
      afterUid: opts.afterUid,
    });
    return rows.map((r) => ({
      uid: r.uid,
      email: r.email,
      generation: r.generation,
      keysChangedAt: r.keys_changed_at,
      clientState: r.client_state,
      node: r.node,
      downed: r.downed,
      createdAt: r.created_at,
      replacedAt: r.replaced_at,
    }));
  }

  async function addNode(node: string, capacity: number, opts: AddNodeOptions = {}): Promise<bigint> {
    return await q.insertNode(sql, {
      service: await serviceId(),
      node,
      // Only a fraction of a new node's capacity is released at first.
      available: opts.available ?? Math.ceil(capacity * releaseRate),
      capacity,
      currentLoad: opts.currentLoad ?? 0,
      downed: Number(opts.downed ?? 0),
      backoff: Number(opts.backoff ?? 0),
      id: opts.nodeId ?? null,
    });
  }

  async function unassignNodeById(nodeId: bigint): Promise<void> {
    await q.unassignNodeUsers(sql, nodeId, now());
  }

  return {
    spannerNodeId,
    serviceId,
    getNodeId,
    getBestNode,
    allocateUser,
    getUser,
    updateUser,
    replaceUserRecord,
    replaceUserRecords,
    getOldUserRecords,
    peekUser,

    async checkSchema() {
      const missing = await missingTables(sql, ["services", "nodes", "users"]);
      if (missing.length > 0) {
        throw new SetupError(
          `tokenserver schema not found: missing table(s) ${missing.join(", ")} ` +
            "(point the tool at a tokenserver database, or run its migrate command in development)",
        );
      }
      try {
        await q.probeColumns(sql);
      } catch (error) {
        if (isTransientDbError(error)) throw error; // not the schema: the database went away; wait for it
        throw new SetupError(`tokenserver schema does not match syncstorage-rs: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await serviceId();
      if (spannerNodeId !== null) await loadSpannerNode(spannerNodeId);
    },

    async retireUser(email) {
      await q.retireUserRecords(sql, email, now(), MAX_GENERATION);
    },

    async getUserRecords(email) {
      const rows = await q.selectAllUserRecords(sql, await serviceId(), email);
      return rows.map((r) => ({ uid: r.uid, node: r.node, createdAt: r.created_at, replacedAt: r.replaced_at }));
    },

    async countOldUserRecords(gracePeriod) {
      return await q.countOldUserRecords(sql, await serviceId(), cutoff(gracePeriod));
    },

    async deleteUserRecord(uid) {
      const service = await serviceId();
      // Spanner nodes are not load-accounted, so there is no slot to give back.
      if (spannerNodeId === null) await q.deleteUserRecordFreeingSlot(sql, service, uid);
      else await q.deleteUserRecord(sql, service, uid);
    },

    async countUsers(timestamp) {
      return await q.countUserRecords(sql, timestamp ?? now());
    },

    addNode,

    async getNode(node) {
      const row = await q.selectNode(sql, await serviceId(), node);
      return row ? toNodeRow(row) : null;
    },

    async updateNode(node, changes) {
      const given = Object.entries(changes).filter(([, v]) => v !== undefined);
      const unknown = given.map(([k]) => k).filter((k) => !NODE_FIELDS.has(k));
      if (unknown.length > 0) throw new Error(`unknown fields: ${unknown.join(", ")}`);
      if (given.length === 0) throw new Error("no node fields to update");
      const flag = (v: boolean | number | undefined) => (v === undefined ? null : Number(v));
      await q.updateNodeFields(sql, await serviceId(), node, {
        capacity: changes.capacity ?? null,
        available: changes.available ?? null,
        currentLoad: changes.currentLoad ?? null,
        downed: flag(changes.downed),
        backoff: flag(changes.backoff),
      });
    },

    async removeNode(node) {
      const nodeId = await getNodeId(node);
      await q.deleteNode(sql, nodeId);
      await unassignNodeById(nodeId);
    },

    async unassignNode(node) {
      await unassignNodeById(await getNodeId(node));
    },
  };
}
