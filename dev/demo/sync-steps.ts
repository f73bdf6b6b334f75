// The Sync chapter of the demo: a user with two records in the tokenserver database (the first
// device's, replaced when the second device came with new keys), account events on the queue that
// process-account-events applies, then purge-old-records sending verified DELETEs to the storage node
// and removing the rows. Last, two purge instances at once over one backlog: every row purged once.
import { selectUserRecords } from "../../src/tokenserver/queries.ts";
import { MAX_GENERATION } from "../../src/tokenserver/types.ts";
import { check, type DemoContext } from "./context.ts";
import type { DemoStep } from "./step.ts";

const ISSUER = "api.accounts.firefox.com";
const DAY_MS = 86_400_000;

const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

async function rowsOf(ctx: DemoContext, email: string) {
  return await selectUserRecords(ctx.sql, await ctx.repo.serviceId(), email);
}

/** How many of these rows are still in users (the repository reads rows by email, not by uid). */
async function remainingRows(ctx: DemoContext, uids: readonly bigint[]): Promise<number> {
  const [row] = await ctx.sql<[{ left: number }]>`select count(*)::int as left from users where uid = any(${uids.map(String)}::bigint[])`;
  return row.left;
}

/** Runs purge-old-records --oneshot over exactly these uids (the range bounds are exclusive), so rows
 * of other runs or of a developer's own experiments are left alone. */
function purgeOnce(ctx: DemoContext, uids: readonly bigint[], extra: string[] = []): Promise<number> {
  const low = uids.reduce((a, b) => (a < b ? a : b));
  const high = uids.reduce((a, b) => (a > b ? a : b));
  return ctx.runTool(
    "purge-old-records",
    ["--oneshot", "--grace-period", "0", "--range_start", String(low - 1n), "--range_end", String(high + 1n), ...extra, "-v", "--human_logs"],
    { SYNC_TOKENSERVER__DATABASE_URL: ctx.state.database.url, PURGE_SECRET: ctx.state.storage.secret },
  );
}

/** Requests the storage node has answered so far (a step looks only at the ones after). */
const requestCount = async (ctx: DemoContext) => (await ctx.storageRequests()).length;

/** The requests for these uids the storage node answered since `since`, how many per uid, and which of
 * them were not verified DELETEs. */
async function deletesFor(ctx: DemoContext, uids: readonly bigint[], since: number) {
  const wanted = new Set(uids.map(String));
  const requests = (await ctx.storageRequests()).slice(since).filter((r) => r.uid !== null && wanted.has(r.uid));
  const count = new Map<string, number>();
  for (const r of requests) count.set(r.uid!, (count.get(r.uid!) ?? 0) + 1);
  const unverified = requests.filter((r) => r.method !== "DELETE" || r.hawk !== "ok" || r.tokenUid !== r.uid || r.status !== 200);
  return { requests, count, unverified };
}

export function syncSteps(): DemoStep[] {
  const story = { email: "", uids: [] as bigint[] };
  return [
    {
      chapter: "sync",
      title: "a Sync user with two devices' records; a passwordChange event moves the generation",
      async run(ctx) {
        story.email = `${hex(16)}@${ISSUER}`;
        const first = BigInt(Date.now() - 2 * DAY_MS);
        const second = BigInt(Date.now() - DAY_MS);
        const user = await ctx.repo.allocateUser(story.email, { generation: first, keysChangedAt: first, clientState: hex(16), node: ctx.state.storage.url });
        // The second device signs in after a key change: a new record, and the first one is replaced.
        await ctx.repo.updateUser(user, { generation: second, keysChangedAt: second, clientState: hex(16) });
        const rows = await rowsOf(ctx, story.email);
        story.uids = rows.map((r) => r.uid).sort((a, b) => (a < b ? -1 : 1));
        check(rows.length === 2 && rows.filter((r) => r.replaced_at === null).length === 1, `two records, one active (got ${rows.length})`);
        const generation = Date.now();
        await ctx.accountEvent({ event: "passwordChange", email: story.email, generation });
        const moved = BigInt(generation - 1);
        await ctx.until(
          async () => (await rowsOf(ctx, story.email)).some((r) => r.replaced_at === null && r.generation === moved),
          `process-account-events sets the active record's generation to ${moved}`,
        );
        return `records ${story.uids.join(", ")} on the storage node; passwordChange on the queue → the active record's generation is ${moved}`;
      },
    },
    {
      chapter: "sync",
      title: "a delete event retires the user's records",
      async run(ctx) {
        await ctx.accountEvent({ event: "delete", email: story.email });
        await ctx.until(
          async () => (await rowsOf(ctx, story.email)).every((r) => r.replaced_at !== null),
          "process-account-events replaces every record of the user",
        );
        const rows = await rowsOf(ctx, story.email);
        check(rows.some((r) => r.generation === MAX_GENERATION), `the current record is retired (generation 2^63-1)`);
        return `delete on the queue → records ${story.uids.join(", ")} replaced, the current one at generation 2^63-1`;
      },
    },
    {
      chapter: "sync",
      title: "purge-old-records --oneshot sends verified DELETEs and removes the rows",
      async run(ctx) {
        const since = await requestCount(ctx);
        const code = await purgeOnce(ctx, story.uids);
        check(code === 0, `purge-old-records --oneshot exits 0 (got ${code})`);
        const { count, unverified } = await deletesFor(ctx, story.uids, since);
        check(unverified.length === 0, `every request is a DELETE with a valid Hawk header and token, answered 200 (not: ${JSON.stringify(unverified)})`);
        check(story.uids.every((uid) => count.get(String(uid)) === 1), `one DELETE /1.5/{uid} per record (got ${JSON.stringify(Object.fromEntries(count))})`);
        const left = await rowsOf(ctx, story.email);
        check(left.length === 0, `no record of the user is left (${left.length} are)`);
        return `exit 0; the storage node verified DELETE /1.5/${story.uids.join(" and /1.5/")} (Hawk and token); no record left`;
      },
    },
    {
      chapter: "sync",
      title: "two purge-old-records at once share one backlog: each row purged once",
      needs: "exclusive-advisory-locks",
      async run(ctx) {
        const uids: bigint[] = [];
        for (let i = 0; i < 40; i++) {
          const user = await ctx.repo.allocateUser(`${hex(16)}@${ISSUER}`, { generation: 1n, node: ctx.state.storage.url });
          uids.push(user.uid);
        }
        for (const uid of uids) await ctx.repo.replaceUserRecord(uid);
        const since = await requestCount(ctx);
        // Small batches, one row at a time per instance, so the two runs overlap on the same rows.
        const codes = await Promise.all([0, 1].map(() => purgeOnce(ctx, uids, ["--max-per-loop", "4", "--concurrency", "1"])));
        check(codes.every((c) => c === 0), `both instances exit 0 (got ${codes.join(", ")})`);
        const { count, unverified } = await deletesFor(ctx, uids, since);
        check(unverified.length === 0, `every DELETE is verified and answered 200 (not: ${unverified.length})`);
        const twice = uids.filter((uid) => (count.get(String(uid)) ?? 0) !== 1);
        check(twice.length === 0, `exactly one DELETE per row (${twice.length} rows got ${twice.map((u) => count.get(String(u)) ?? 0).join(", ")})`);
        const left = await remainingRows(ctx, uids);
        check(left === 0, `no row is left (${left} are)`);
        return `40 replaced rows; both instances exit 0; 40 verified DELETEs, one per row; no row left`;
      },
    },
  ];
}
