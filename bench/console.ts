// Benchmark: every operator console page answers in under 100 ms (issue 15) with 100,000 deliveries in
// the event-broker's outbox (10 clients, 20,000 users; 90% delivered, 5% dead, 4% pending, 1% superseded;
// 110,000 attempts), seeded with one generate_series insert per table. Each page is asked for 30 times
// in a row by a signed-in operator over loopback HTTP; median and p99 are printed with PASS/FAIL.
// Another tool's console adds a section below: seed, start its app, list its pages, time them.
// email-send: 100,000 bounce records (25,000 addresses, one with 2,000) and four callers with 8,000 open
// counters. account-config: 5,000 accounts with 18 rows each, one with 1,000 IP entries.
import { createConfigApp } from "../src/account-config/api.ts";
import { AccountConfigCache } from "../src/account-config/cache.ts";
import { ACCOUNT_CONFIG_SCHEMA } from "../src/account-config/migrations/index.ts";
import { AccountConfigRunner } from "../src/account-config/runner.ts";
import { createBrokerApp } from "../src/broker/app.ts";
import { BROKER_SCHEMA } from "../src/broker/migrations/index.ts";
import { loadSigningKey } from "../src/broker/set.ts";
import { createLogger } from "../src/core/logger.ts";
import { noopMetrics } from "../src/core/metrics.ts";
import { createSql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { addCaller, parseRate } from "../src/email/callers.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../src/email/migrations/index.ts";
import { createEmailApp } from "../src/email/send-api.ts";
import { serve } from "../src/http/serve.ts";
import { readFileSync } from "node:fs";
import { benchDatabase } from "./support/bench-database.ts";
import { printTimings, signInForBench, timeConsolePages, type ConsolePage } from "./support/console-pages.ts";

const DELIVERIES = Number(process.env.BENCH_CONSOLE_DELIVERIES ?? 100_000);
const CLIENTS = 10;
const USERS = 20_000;
const TOKEN = "bench-console-admin-token-0123456789";
const log = createLogger({ name: "bench", level: "error", format: "json" });
const clientOf = (n: number) => n.toString(16).padStart(16, "0");
const uidOf = (n: number) => n.toString(16).padStart(32, "0");

const db = await benchDatabase("bench_console");
const sql = createSql(db.url, { max: 10 });
let ok = false;
try {
  await migrate(sql, BROKER_SCHEMA.domain, BROKER_SCHEMA.migrations);
  const seeded = performance.now();
  await sql`
    insert into broker_clients (client_id, webhook_url, is_resource_server, delivery_format, updated_at)
    select lpad(to_hex(g), 16, '0'), 'https://rp' || g || '.example/events', g % 3 = 0, case when g % 2 = 0 then 'bearer' else 'rfc8935' end, now()
    from generate_series(1, ${CLIENTS}) g`;
  await sql`
    insert into broker_deliveries (client_id, uid, event, payload, jti, status, created_at, available_at, attempts, last_status, last_error, finished_at)
    select lpad(to_hex(1 + g % ${CLIENTS}), 16, '0'), lpad(to_hex(g % ${USERS}), 32, '0'), 'passwordChange',
      jsonb_build_object('event', 'passwordChange', 'uid', lpad(to_hex(g % ${USERS}), 32, '0'), 'changeTime', g),
      gen_random_uuid(), s.status, now() - (${DELIVERIES} - g) * interval '1 second', now(),
      case s.status when 'dead' then 4 when 'delivered' then 1 else 0 end,
      case s.status when 'dead' then 500 when 'delivered' then 200 end,
      case s.status when 'dead' then 'HTTP 500: upstream unavailable' end,
      case when s.status in ('dead', 'delivered', 'superseded') then now() end
    from generate_series(1, ${DELIVERIES}) g
    cross join lateral (select case when g % 100 < 90 then 'delivered' when g % 100 < 95 then 'dead' when g % 100 < 99 then 'pending' else 'superseded' end as status) s`;
  await sql`
    insert into broker_attempts (delivery_id, client_id, attempted_at, http_status, latency_ms, error)
    select d.id, d.client_id, d.created_at + k * interval '10 seconds',
      case when d.status = 'delivered' then 200 else 500 end, 5 + (d.id % 50)::int,
      case when d.status = 'dead' then 'HTTP 500: upstream unavailable' end
    from broker_deliveries d
    cross join lateral generate_series(1, case d.status when 'dead' then 4 when 'delivered' then 1 else 0 end) k`;
  await sql`analyze`;
  const seedSeconds = (performance.now() - seeded) / 1000;
  const { attempts } = (await sql<{ attempts: bigint }[]>`select count(*) as attempts from broker_attempts`)[0]!;
  const { deep } = (await sql<{ deep: bigint }[]>`select id as deep from broker_deliveries where client_id = ${clientOf(3)} order by id desc offset 5000 limit 1`)[0]!;

  const key = await loadSigningKey(JSON.parse(readFileSync(new URL("../../shared/vectors/broker/sets/keys.json", import.meta.url), "utf8")).privateJwk);
  const app = createBrokerApp({
    sql,
    log,
    version: { build: "bench", commit: "bench", source: "bench", version: "bench" },
    adminToken: TOKEN,
    admin: { sql, clock: Date.now, allowInsecureWebhooks: true },
    backedOff: () => [],
    proxy: { clients: { get: () => undefined }, key, issuer: "bench", log, metrics: noopMetrics, clock: Date.now, authenticate: false, verificationToken: "", timeoutMs: 1000, allowInsecureWebhooks: true },
  });
  const server = serve(app, { hostname: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const cookie = await signInForBench(base, TOKEN);
    // The broker's pages; a filter per index the search uses, a deep keyset page, one delivery.
    const brokerPages: ConsolePage[] = [
      { name: "overview", path: "/console/overview" },
      { name: "counters.json", path: "/console/counters.json" },
      { name: "clients", path: "/console/clients" },
      { name: "deliveries (newest)", path: "/console/deliveries" },
      { name: "deliveries by user", path: `/console/deliveries?uid=${uidOf(4242)}` },
      { name: "deliveries by client", path: `/console/deliveries?client=${clientOf(3)}` },
      { name: "deliveries by client, dead", path: `/console/deliveries?client=${clientOf(3)}&status=dead` },
      { name: "deliveries, dead", path: "/console/deliveries?status=dead" },
      { name: "deliveries by client, page 100", path: `/console/deliveries?client=${clientOf(3)}&after=${deep}` },
      { name: "one delivery", path: `/console/deliveries/${DELIVERIES / 2 + 5}` },
    ];
    const timings = await timeConsolePages(base, cookie, brokerPages);
    console.log(`console benchmark`);
    console.log(`  database     ${db.description}`);
    console.log(`  data         ${DELIVERIES} deliveries, ${attempts} attempts, ${CLIENTS} clients, ${USERS} users (seeded in ${seedSeconds.toFixed(1)} s)`);
    ok = printTimings(`  event-broker console (30 requests per page after 3 warm-ups, one at a time)`, timings);
    ok = (await emailSendSection()) && ok;
    ok = (await accountConfigSection()) && ok;
  } finally {
    await server.stop(true);
  }
} finally {
  await sql.end({ timeout: 1 });
  await db.stop();
}
console.log(ok ? "console benchmark: PASS (every page p99 < 100 ms)" : "console benchmark: FAIL");
if (!ok) process.exitCode = 1;

/** The email-send console on 100,000 bounce records; false when a page misses the target. */
async function emailSendSection(): Promise<boolean> {
  const DAY = 86_400_000;
  const now = Date.now();
  await migrate(sql, EMAIL_DOMAIN, EMAIL_MIGRATIONS);
  // 25,000 addresses × 3-4 records (ages spread over two years), and one address with 2,000.
  await sql`
    insert into email_bounces (email, bounce_type, bounce_sub_type, created_at)
    select 'user' || (g % 25000) || '@example.com', 1 + (g % 3), g % 15, ${now} - (g::bigint * 631) % (730::bigint * ${DAY})
    from generate_series(1, 98000) g`;
  await sql`
    insert into email_bounces (email, bounce_type, bounce_sub_type, created_at)
    select 'hot@example.com', 1 + (g % 3), 2, ${now} - g::bigint * 60000 from generate_series(1, 2000) g`;
  for (const name of ["web", "auth", "batch", "support"]) await addCaller(sql, { name, rate: parseRate("1000/minute"), recipientRate: parseRate("5/hour") }, now);
  const hour = now - (now % 3_600_000);
  await sql`
    insert into email_send_counters (key, window_start, window_end, count)
    select c || E'\n' || 'user' || g || '@example.com', ${hour}, ${hour + 3_600_000}, 1 + g % 5
    from unnest(array['web', 'auth', 'batch', 'support']) c, generate_series(1, 2000) g`;
  await sql`analyze`;
  const { mid } = (await sql<{ mid: string }[]>`select (max(id) / 2)::text as mid from email_bounces`)[0]!;
  const { hotAfter } = (await sql<{ hotAfter: string }[]>`
    select created_at || '.' || id as "hotAfter" from email_bounces where email = 'hot@example.com' order by created_at desc, id desc offset 999 limit 1`)[0]!;
  const limits = { enabled: true, complaint: [{ period: "year", periodMs: 365 * DAY, limit: 1 }], hard: [{ period: "year", periodMs: 365 * DAY, limit: 1 }], soft: [{ period: "day", periodMs: DAY, limit: 3 }] };
  const app = createEmailApp({ sql, log, resolveProvider: () => ({ name: "mock", send: async () => "x" }), limits, hmacKey: "bench", messageDataTtlMs: DAY, version: { build: "bench", commit: "bench", source: "bench", version: "bench" }, authToken: TOKEN });
  const server = serve(app, { hostname: "127.0.0.1", port: 0 });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const timings = await timeConsolePages(base, await signInForBench(base, TOKEN), [
      { name: "address form", path: "/console/addresses" },
      { name: "address, 4 records", path: "/console/addresses?address=user4242%40example.com" },
      { name: "address, 2,000 records, refused", path: "/console/addresses?address=hot%40example.com" },
      { name: "address, 2,000 records, page 21", path: `/console/addresses?address=hot%40example.com&after=${hotAfter}` },
      { name: "recent problems", path: "/console/recent" },
      { name: "recent problems, halfway down", path: `/console/recent?after=${mid}` },
      { name: "callers with usage", path: "/console/callers" },
    ]);
    return printTimings(`  email-send console (100,000 bounce records; 30 requests per page after 3 warm-ups)`, timings);
  } finally {
    await server.stop(true);
  }
}

/** The account-config console on 5,000 accounts; false when a page misses the target. */
async function accountConfigSection(): Promise<boolean> {
  const ACCOUNTS = 5000;
  await migrate(sql, ACCOUNT_CONFIG_SCHEMA.domain, ACCOUNT_CONFIG_SCHEMA.migrations);
  await sql.begin(async (tx) => {
    await tx`insert into attrib.attrib_account (id, token, name, connection_strings)
      select g, 'a' || g, 'Account ' || g, jsonb_build_object('write', 'postgres://u:p@db/a' || g) from generate_series(1, ${ACCOUNTS}) g`;
    await tx`insert into attrib_client.attrib_event (id, account_id, name) select g * 10 + k, g, 'event' || k from generate_series(1, ${ACCOUNTS}) g, generate_series(1, 5) k`;
    await tx`insert into attrib_client.attrib_pattern (account_id, referer_id, pattern, priority) select g, k, 'ref' || k || '\\.example', k from generate_series(1, ${ACCOUNTS}) g, generate_series(1, 3) k`;
    await tx`insert into attrib_client.attrib_domains (account_id, domain) select g, 'd' || k || '.a' || g || '.example' from generate_series(1, ${ACCOUNTS}) g, generate_series(1, 2) k`;
    await tx`insert into attrib_client.attrib_blacklist_ip (account_id, ip, mode) select g, ('10.' || k || '.0.0/16')::cidr, 'discard' from generate_series(2, ${ACCOUNTS}) g, generate_series(1, 3) k`;
    await tx`insert into attrib_client.attrib_blacklist_ip (account_id, ip, mode) select 1, ('172.' || (16 + k / 250) || '.' || (k % 250) || '.0/24')::cidr, 'discard' from generate_series(0, 999) k`;
    await tx`insert into attrib_client.attrib_blacklist_visitors (account_id, visitor, mode) select g, lpad(g || 'v' || k, 32, 'x'), 'discard' from generate_series(1, ${ACCOUNTS}) g, generate_series(1, 3) k`;
  });
  const cache = new AccountConfigCache();
  const runner = new AccountConfigRunner({ cache, sql, log, pollIntervalMs: 60_000 });
  await runner.start();
  const app = createConfigApp({ runner, log, version: { build: "bench", commit: "bench", source: "bench", version: "bench" }, staleAfterMs: 30_000, adminToken: TOKEN });
  const server = serve(app, { hostname: "127.0.0.1", port: 0 });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const timings = await timeConsolePages(base, await signInForBench(base, TOKEN), [
      { name: "accounts", path: "/console/accounts" },
      { name: "accounts, page 50", path: "/console/accounts?after=2500" },
      { name: "accounts filtered", path: "/console/accounts?q=a4242" },
      { name: "account with 1,000 IP entries", path: "/console/accounts/1" },
      { name: "its IP entries, page 10", path: "/console/accounts/1/maps/blacklistIps?after=500" },
      { name: "IP lookup, 1,000 entries", path: "/console/lookup?account=1&ip=172.17.3.9" },
      { name: "visitor lookup", path: `/console/lookup?account=a42&visitor=${"42v1".padStart(32, "x")}` },
    ]);
    return printTimings(`  account-config console (${ACCOUNTS} accounts; 30 requests per page after 3 warm-ups)`, timings);
  } finally {
    await server.stop(true);
    await runner.stop();
  }
}
