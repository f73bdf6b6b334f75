// Benchmark: every operator console page answers in under 100 ms (issue 15) with 100,000 deliveries in
// the event-broker's outbox (10 clients, 20,000 users; 90% delivered, 5% dead, 4% pending, 1% superseded;
// 110,000 attempts), seeded with one generate_series insert per table. Each page is asked for 30 times
// in a row by a signed-in operator over loopback HTTP; median and p99 are printed with PASS/FAIL.
// Another tool's console adds a section below: seed, start its app, list its pages, time them.
import { createBrokerApp } from "../src/broker/app.ts";
import { BROKER_SCHEMA } from "../src/broker/migrations/index.ts";
import { loadSigningKey } from "../src/broker/set.ts";
import { createLogger } from "../src/core/logger.ts";
import { noopMetrics } from "../src/core/metrics.ts";
import { createSql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
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
    // email-send and account-config consoles: their sections go here (seed, start the app, time their pages).
  } finally {
    await server.stop(true);
  }
} finally {
  await sql.end({ timeout: 1 });
  await db.stop();
}
console.log(ok ? "console benchmark: PASS (every page p99 < 100 ms)" : "console benchmark: FAIL");
if (!ok) process.exitCode = 1;
