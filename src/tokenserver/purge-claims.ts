// Several purge instances may run on one database with overlapping uid ranges. Before a row is purged
// this instance takes a session-level advisory lock on its uid and then, in a later statement (so with a
// snapshot taken after the lock), re-checks that the row is still waiting to be purged. A purged row's
// lock is released only after its delete has committed. So another instance can never claim a row that
// was purged: no row is deleted twice and no second DELETE is sent to a storage node.
//
// Everything goes through one reserved connection (advisory locks belong to a session). Completions and
// releases of one turn of the event loop go out together, and the delete and its unlock are pipelined
// into the same socket write: on this path the writes, not PostgreSQL, were what limited a purge's rate.
import { perTickBatcher } from "../core/concurrency.ts";
import type { Sql } from "../db/client.ts";

export interface RowClaims {
  /** The uids of `uids` this instance now holds (still eligible and not held elsewhere). */
  claim(uids: readonly bigint[], cutoffMs: bigint): Promise<Set<bigint>>;
  /** delete_user_record (freeing the node slot unless `freeSlots` is off) and release, together. */
  complete(uid: bigint): Promise<void>;
  /** Gives a uid up without deleting it. */
  release(uid: bigint): Promise<void>;
  /** Releases everything and returns the connection to the pool. */
  close(): Promise<void>;
}

// Each uid's lock key is hashtextextended('tokenserver.purge:' || uid, 0) in every statement below.
export async function createRowClaims(sql: Sql, options: { service: number; freeSlots: boolean }): Promise<RowClaims> {
  const session = await sql.reserve();
  // uids travel as text: postgres.js infers no bigint[] from an array of bigints.
  const unlock = (uids: readonly bigint[]) => session`
    select pg_advisory_unlock(hashtextextended('tokenserver.purge:' || u::text, 0))
    from unnest(${uids.map(String)}::bigint[]) u`;
  const completions = perTickBatcher<bigint>((uids) => {
    const deleted = session`
      with gone as (
        delete from users where service = ${options.service} and uid = any(${uids.map(String)}::bigint[])
        returning nodeid
      )
      update nodes set available = available + g.n, current_load = current_load - g.n
      from (select nodeid, count(*)::int as n from gone group by nodeid) g
      where ${options.freeSlots} and nodes.id = g.nodeid`;
    // Sent right behind the delete (one write), and run by PostgreSQL only after it has committed.
    const released = unlock(uids);
    return Promise.all([deleted, released]);
  });
  const releases = perTickBatcher<bigint>(unlock);

  return {
    async claim(uids, cutoffMs) {
      if (uids.length === 0) return new Set();
      const locked = await session<{ uid: bigint }[]>`
        select u as uid from unnest(${uids.map(String)}::bigint[]) u
        where pg_try_advisory_lock(hashtextextended('tokenserver.purge:' || u::text, 0))`;
      if (locked.length === 0) return new Set();
      // A new statement, so a new snapshot: a row another instance purged before unlocking is gone here.
      const eligible = await session<{ uid: bigint }[]>`
        select uid from users
        where uid = any(${locked.map((r) => String(r.uid))}::bigint[]) and replaced_at is not null and replaced_at < ${cutoffMs}`;
      const held = new Set(eligible.map((r) => r.uid));
      const extra = locked.map((r) => r.uid).filter((uid) => !held.has(uid));
      if (extra.length > 0) await unlock(extra);
      return held;
    },
    complete: (uid) => completions.addAndWait(uid),
    release: (uid) => releases.addAndWait(uid),
    async close() {
      try {
        await Promise.all([completions.idle(), releases.idle()]);
        await session`select pg_advisory_unlock_all()`;
      } finally {
        session.release();
      }
    },
  };
}
