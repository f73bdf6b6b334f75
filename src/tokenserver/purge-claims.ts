// Several purge instances may run on one database with overlapping uid ranges. Before a row is purged
// this instance takes a session-level advisory lock on its uid and re-checks, under the lock, that the
// row is still waiting to be purged. A row purged by another instance is gone by the time its lock is
// released, so no row is deleted twice and no second DELETE is sent to a storage node.
import type { Sql } from "../db/client.ts";

export interface RowClaims {
  /** The uids of `uids` this instance now holds (still eligible and not held elsewhere). */
  claim(uids: readonly bigint[], cutoffMs: bigint): Promise<Set<bigint>>;
  /** Gives a uid up; releases are sent together, one statement for all that finished in the same tick. */
  release(uid: bigint): Promise<void>;
  /** Releases everything and returns the connection to the pool. */
  close(): Promise<void>;
}

export async function createRowClaims(sql: Sql): Promise<RowClaims> {
  // Advisory locks belong to a session, so every lock and unlock goes through one reserved connection.
  const session = await sql.reserve();
  let pending: bigint[] = [];
  let flushing: Promise<void> | null = null;

  const flush = (): Promise<void> => {
    flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const uids = pending;
      pending = [];
      flushing = null;
      await session`
        select pg_advisory_unlock(hashtextextended('tokenserver.purge:' || u::text, 0))
        from unnest(${uids.map(String)}::bigint[]) u`;
    });
    return flushing;
  };

  return {
    async claim(uids, cutoffMs) {
      if (uids.length === 0) return new Set();
      // The eligible set is materialised first so a lock is only ever taken on a row we will purge.
      // (uids travel as text: postgres.js infers no bigint[] from an array of bigints.)
      const rows = await session<{ uid: bigint }[]>`
        with eligible as materialized (
          select uid from users
          where uid = any(${uids.map(String)}::bigint[]) and replaced_at is not null and replaced_at < ${cutoffMs}
        )
        select uid from eligible where pg_try_advisory_lock(hashtextextended('tokenserver.purge:' || uid::text, 0))`;
      return new Set(rows.map((r) => r.uid));
    },
    release(uid) {
      pending.push(uid);
      return flush();
    },
    async close() {
      try {
        if (flushing) await flushing;
        await session`select pg_advisory_unlock_all()`;
      } finally {
        session.release();
      }
    },
  };
}
