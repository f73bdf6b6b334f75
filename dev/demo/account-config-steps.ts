// The account-config chapter of the demo: an account's IP blacklist is changed in the database (a row
// added, then soft-deleted, as an operator's edit would) and each change is visible through the API
// within a second; the measured delays are printed. On PostgreSQL a NOTIFY wakes the cache; where NOTIFY
// is not delivered (PGlite) the stack runs account-config with a short poll instead, and the step says so.
import { ACCOUNT_CONFIG_FALLBACK_POLL_MS } from "../tools.ts";
import { check, type DemoContext } from "./context.ts";
import type { DemoStep } from "./step.ts";

const ACCOUNT = "dev-shop";
const WITHIN_MS = 1_000;

/** ms from now until the API answers `blacklisted` for `ip`, looking every few ms; throws after 5 s. */
async function visibleAfter(ctx: DemoContext, url: string, ip: string, blacklisted: boolean, committedAt: number): Promise<number> {
  for (;;) {
    const answer = (await (await fetch(`${url}/accounts/${ACCOUNT}/blacklist/ip/${ip}`)).json()) as { blacklisted?: boolean };
    const now = performance.now();
    if (answer.blacklisted === blacklisted) return now - committedAt;
    check(now - committedAt < 5 * WITHIN_MS, `GET /accounts/${ACCOUNT}/blacklist/ip/${ip} says blacklisted=${blacklisted} (still ${answer.blacklisted} after 5 s)`);
    await new Promise((resolve) => setTimeout(resolve, 2)); // the next look, a few ms later
  }
}

export const ACCOUNT_CONFIG_STEPS: readonly DemoStep[] = [
  {
    chapter: "account-config",
    title: "an account's blacklist changed in the database is visible through the API within a second",
    async run(ctx) {
      const url = ctx.state.tools["account-config"]?.url;
      check(url, "the stack runs account-config");
      const bytes = crypto.getRandomValues(new Uint8Array(2));
      const ip = `198.18.${bytes[0]}.${bytes[1]}`;
      const [account] = await ctx.sql<[{ id: string }?]>`select id from attrib.attrib_account where token = ${ACCOUNT} and deleted_at is null`;
      check(account, `the sample account ${ACCOUNT} exists`);

      await ctx.sql`insert into attrib_client.attrib_blacklist_ip (account_id, ip, mode, note) values (${account.id}, ${`${ip}/32`}, 'no_sync', ${`demo ${ctx.run}`})`;
      const added = await visibleAfter(ctx, url, ip, true, performance.now());
      await ctx.sql`update attrib_client.attrib_blacklist_ip set deleted_at = now() where account_id = ${account.id} and ip = ${`${ip}/32`}::cidr and deleted_at is null`;
      const removed = await visibleAfter(ctx, url, ip, false, performance.now());

      const how = ctx.state.database.capabilities.missing["listen-notify"]
        ? `no NOTIFY on this database (listen-notify missing), so through the fallback poll every ${ACCOUNT_CONFIG_FALLBACK_POLL_MS} ms`
        : "woken by NOTIFY";
      check(added < WITHIN_MS && removed < WITHIN_MS, `both changes are visible within ${WITHIN_MS} ms (added after ${added.toFixed(0)} ms, removed after ${removed.toFixed(0)} ms; ${how})`);
      return `${ip}/32 added to ${ACCOUNT}'s blacklist: visible after ${added.toFixed(0)} ms; soft-deleted: gone after ${removed.toFixed(0)} ms (${how})`;
    },
  },
];
