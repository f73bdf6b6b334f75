// Benchmark: every email-send and account-config console page over real HTTP, signed in, on seeded data:
// 100,000 bounce records (25,000 addresses with 3-4 each, one address with 2,000, a few callers with
// open counters) and 5,000 accounts with 24 rows each (one with 1,000 IP entries). Each page is asked
// BENCH_ROUNDS times (default 60) after a warm-up; printed with p50 / p99 / max next to the target
// (issue 15): every page answers in under 100 ms (p99).
import { AccountConfigCache } from "../src/account-config/cache.ts";
import { createConfigApp } from "../src/account-config/api.ts";
import { ACCOUNT_CONFIG_SCHEMA } from "../src/account-config/migrations/index.ts";
import { AccountConfigRunner } from "../src/account-config/runner.ts";
import { createLogger } from "../src/core/logger.ts";
import { createSql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { addCaller, parseRate } from "../src/email/callers.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../src/email/migrations/index.ts";
import { createEmailApp } from "../src/email/send-api.ts";
import { serve } from "../src/http/serve.ts";
import { csrfIn } from "../test/support/console-client.ts";
import { benchDatabase } from "./support/bench-database.ts";
import { percentile } from "./support/measure.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const TARGET_MS = 100;
const DAY = 86_400_000;
const NOW = Date.now();
const TOKEN = "bench-console-operator-token";
const log = createLogger({ name: "bench", level: "error", format: "pretty" });

const database = await benchDatabase("console_pages");
const sql = createSql(database.url, { max: 6 });
await migrate(sql, EMAIL_DOMAIN, EMAIL_MIGRATIONS);
await migrate(sql, ACCOUNT_CONFIG_SCHEMA.domain, ACCOUNT_CONFIG_SCHEMA.migrations);

// 100,000 bounce records: 25,000 addresses × 3-4 (ages spread over two years), plus one with 2,000.
await sql`
  INSERT INTO email_bounces (email, bounce_type, bounce_sub_type, created_at)
  SELECT 'user' || (g % 25000) || '@example.com', 1 + (g % 3), g % 15, ${NOW} - (g::bigint * 631) % (730::bigint * ${DAY})
  FROM generate_series(1, 98000) g`;
await sql`
  INSERT INTO email_bounces (email, bounce_type, bounce_sub_type, created_at)
  SELECT 'hot@example.com', 1 + (g % 3), 2, ${NOW} - g::bigint * 60000 FROM generate_series(1, 2000) g`;
for (const name of ["web", "auth", "batch", "support"]) await addCaller(sql, { name, rate: parseRate("1000/minute"), recipientRate: parseRate("5/hour") }, NOW);
await sql`
  INSERT INTO email_send_counters (key, window_start, window_end, count)
  SELECT c || E'\n' || 'user' || g || '@example.com', ${NOW - (NOW % 3_600_000)}, ${NOW - (NOW % 3_600_000) + 3_600_000}, 1 + g % 5
  FROM unnest(array['web', 'auth', 'batch', 'support']) c, generate_series(1, 2000) g`;

// 5,000 accounts, 24 rows each as bench/account-config.ts seeds them, one with 1,000 IP entries.
const ACCOUNTS = 5000;
await sql.begin(async (tx) => {
  await tx`INSERT INTO attrib.attrib_account (id, token, name, connection_strings)
    SELECT g, 'a' || g, 'Account ' || g, jsonb_build_object('write', 'postgres://u:p@db/a' || g) FROM generate_series(1, ${ACCOUNTS}) g`;
  await tx`INSERT INTO attrib_client.attrib_event (id, account_id, name) SELECT g * 10 + k, g, 'event' || k FROM generate_series(1, ${ACCOUNTS}) g, generate_series(1, 5) k`;
  await tx`INSERT INTO attrib_client.attrib_pattern (account_id, referer_id, pattern, priority) SELECT g, k, 'ref' || k || '\\.example', k FROM generate_series(1, ${ACCOUNTS}) g, generate_series(1, 3) k`;
  await tx`INSERT INTO attrib_client.attrib_domains (account_id, domain) SELECT g, 'd' || k || '.a' || g || '.example' FROM generate_series(1, ${ACCOUNTS}) g, generate_series(1, 2) k`;
  await tx`INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode) SELECT g, ('10.' || k || '.0.0/16')::cidr, 'discard' FROM generate_series(2, ${ACCOUNTS}) g, generate_series(1, 3) k`;
  await tx`INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode) SELECT 1, ('172.' || (16 + k / 250) || '.' || (k % 250) || '.0/24')::cidr, 'discard' FROM generate_series(0, 999) k`;
  await tx`INSERT INTO attrib_client.attrib_blacklist_visitors (account_id, visitor, mode) SELECT g, lpad(g || 'v' || k, 32, 'x'), 'discard' FROM generate_series(1, ${ACCOUNTS}) g, generate_series(1, 3) k`;
});
await sql`ANALYZE`;

const cache = new AccountConfigCache();
const runner = new AccountConfigRunner({ cache, sql, log, pollIntervalMs: 60_000 });
await runner.start();
const version = { build: "bench", commit: "bench", source: "bench", version: "bench" };
const limits = { enabled: true, complaint: [{ period: "year", periodMs: 365 * DAY, limit: 1 }], hard: [{ period: "year", periodMs: 365 * DAY, limit: 1 }], soft: [{ period: "day", periodMs: DAY, limit: 3 }] };
const email = serve(createEmailApp({ sql, log, resolveProvider: () => ({ name: "mock", send: async () => "x" }), limits, hmacKey: "k", messageDataTtlMs: DAY, version, authToken: TOKEN }), { port: 0, hostname: "127.0.0.1" });
const config = serve(createConfigApp({ runner, log, version, staleAfterMs: 30_000, adminToken: TOKEN }), { port: 0, hostname: "127.0.0.1" });

async function signedIn(port: number) {
  const base = `http://127.0.0.1:${port}`;
  const login = await fetch(`${base}/console/login`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `operator=bench&token=${TOKEN}` });
  const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  return async (path: string) => {
    const t0 = performance.now();
    const response = await fetch(base + path, { headers: { cookie, accept: "text/html" }, redirect: "manual" });
    const html = await response.text();
    const ms = performance.now() - t0;
    if (response.status !== 200 || !csrfIn(html)) throw new Error(`${path}: ${response.status}`);
    return { ms, html };
  };
}

const [get, getConfig] = [await signedIn(email.port), await signedIn(config.port)];
const hotAfter = /rel="next" href="[^"]*after=([^"&]+)/.exec((await get("/console/addresses?address=hot@example.com")).html)![1];
const [{ mid }] = await sql<[{ mid: string }]>`select (max(id) / 2)::text as mid from email_bounces`;
const pages: [string, (path: string) => Promise<{ ms: number }>, string][] = [
  ["email: address form", get, "/console/addresses"],
  ["email: address, 4 records", get, "/console/addresses?address=user4242%40example.com"],
  ["email: address, 2,000 records, refused", get, "/console/addresses?address=hot%40example.com"],
  ["email: address, 2,000 records, page 2", get, `/console/addresses?address=hot%40example.com&after=${hotAfter}`],
  ["email: recent problems", get, "/console/recent"],
  ["email: recent problems, halfway down", get, `/console/recent?after=${mid}`],
  ["email: callers with usage", get, "/console/callers"],
  ["config: accounts", getConfig, "/console/accounts"],
  ["config: accounts, page 50", getConfig, "/console/accounts?after=2500"],
  ["config: accounts filtered", getConfig, "/console/accounts?q=a4242"],
  ["config: account with 1,000 IP entries", getConfig, "/console/accounts/1"],
  ["config: IP map page 10", getConfig, "/console/accounts/1/maps/blacklistIps?after=500"],
  ["config: account a4242", getConfig, "/console/accounts/a4242"],
  ["config: IP lookup, 1,000 entries", getConfig, "/console/lookup?account=1&ip=172.17.3.9"],
  ["config: visitor lookup", getConfig, `/console/lookup?account=a42&visitor=${"42v1".padStart(32, "x")}`],
];

console.log(`console pages, ${ROUNDS} requests each after 5 warm-up, signed in, over HTTP (${database.description}):`);
let missed = 0;
for (const [name, fetchPage, path] of pages) {
  for (let i = 0; i < 5; i += 1) await fetchPage(path);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) times.push((await fetchPage(path)).ms);
  times.sort((a, b) => a - b);
  const p99 = percentile(times, 99);
  if (p99 >= TARGET_MS) missed += 1;
  console.log(`  ${name.padEnd(42)} p50 ${percentile(times, 50).toFixed(1).padStart(6)} ms  p99 ${p99.toFixed(1).padStart(6)} ms  max ${times.at(-1)!.toFixed(1).padStart(6)} ms  target p99 < ${TARGET_MS} ms  ${p99 < TARGET_MS ? "met" : "MISSED"}`);
}
await Promise.all([email.stop(true), config.stop(true)]);
await runner.stop();
await sql.end({ timeout: 1 });
await database.stop();
if (missed > 0) process.exitCode = 1;
