// Benchmark: 5,000 notifications from the SQS emulator, each fanned out to 10 relying parties (loopback
// webhooks answering 200, in their own process), end to end through the broker's intake and delivery
// workers: 50,000 signed SETs. Then a paced run at 200 notifications/s, each for one relying party,
// for the latency target. Then bursts with and without an eleventh relying party that refuses every
// connection, interleaved: the healthy ten's delivery rate with one down. Baseline, same run: raw RS256
// signing of as many SETs, nothing else.
// Targets (issue 12): ≥ 50% of the signing baseline; p99 < 1 s at 200 events/s; one relying party down
// for the whole run lowers the others' delivery rate by at most 10%.
import { CreateQueueCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { readFileSync } from "node:fs";
import { startRelyingPartiesProcess } from "./support/start-relying-parties.ts";
import { startDeliveryWorkers } from "../src/broker/delivery.ts";
import { runIntake } from "../src/broker/intake.ts";
import { BROKER_SCHEMA } from "../src/broker/migrations/index.ts";
import { upsertClient } from "../src/broker/queries.ts";
import { startClientRegistry } from "../src/broker/registry.ts";
import { loadSigningKey, signSet } from "../src/broker/set.ts";
import { createLogger } from "../src/core/logger.ts";
import { noopMetrics } from "../src/core/metrics.ts";
import { createSql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { startCluster } from "../test/support/pg-cluster.ts";
import { peakRssMiB, percentile, startFauxqsProcess } from "./support/measure.ts";
import { reportResult } from "./support/report.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 5_000);
const RPS = 10;
const PACED_RATE = 200;
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const DELIVERY_CONCURRENCY = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 32);
const QUEUE_CONCURRENCY = 16;
const DOWN_EVENTS = Number(process.env.BENCH_DOWN_EVENTS ?? 500);
const DOWN_PAIRS = 2;
const keyJwk = JSON.parse(readFileSync(new URL("../../shared/vectors/broker/sets/keys.json", import.meta.url), "utf8")).privateJwk;
const key = await loadSigningKey(keyJwk);
const log = createLogger({ name: "bench", level: "error", format: "json" });
const uidOf = (i: number) => i.toString(16).padStart(32, "0");

async function send(sqs: SQSClient, url: string, bodies: string[]) {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    sends.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })) })));
    if (sends.length >= 16) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
}

/** As fast as this machine signs SETs: the same signing call, 64 at a time (WebCrypto uses every core). */
async function signingBaseline(count: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      await signSet(key, { clientId: "0123456789abcdef", json: { event: "passwordChange", changeTime: i, uid: uidOf(i) }, issuedAtMs: Date.now(), jti: crypto.randomUUID(), issuer: "https://accounts.firefox.com" });
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
  return (count * 1000) / (performance.now() - started);
}

const until = async (condition: () => Promise<boolean>) => {
  while (!(await condition())) await Bun.sleep(20);
};

// Measured before and after the run; the larger is the baseline (other load on the machine only lowers it).
const baselineSets = Math.min(EVENTS * RPS, Number(process.env.BENCH_BASELINE_SETS ?? 20_000));
const baselineBefore = await signingBaseline(baselineSets);
// BENCH_DATABASE_URL: an existing (durable) server's empty database instead of the throwaway cluster.
const cluster = process.env.BENCH_DATABASE_URL ? { url: process.env.BENCH_DATABASE_URL, stop() {} } : await startCluster();
const fauxqs = await startFauxqsProcess();
const rps = await startRelyingPartiesProcess(RPS);
try {
  const sql = createSql(cluster.url, { max: 8 });
  await migrate(sql, BROKER_SCHEMA.domain, BROKER_SCHEMA.migrations);
  const clientIds = rps.urls.map((_, i) => i.toString(16).padStart(16, "c"));
  for (const [i, url] of rps.urls.entries()) {
    await upsertClient(sql, { client_id: clientIds[i]!, webhook_url: url, is_resource_server: true, delivery_format: "bearer" }, new Date());
  }
  const registry = await startClientRegistry({ sql, log, reloadIntervalMs: 60_000 });
  const stop = new AbortController();
  const workers = startDeliveryWorkers(
    { sql, clients: registry, key, issuer: "https://accounts.firefox.com", log, metrics: noopMetrics, clock: Date.now },
    { concurrency: DELIVERY_CONCURRENCY, timeoutMs: 10_000, maxAgeMs: 86_400_000, allowInsecureWebhooks: true, pollMs: 200, signal: stop.signal },
  );
  const queueUrl = (await fauxqs.client.send(new CreateQueueCommand({ QueueName: "notifications", Attributes: { VisibilityTimeout: "300" } }))).QueueUrl!;
  const intakeDeps = {
    sql,
    sources: { resourceServers: () => registry.resourceServers(), capabilities: () => new Map<string, string[]>() },
    metrics: noopMetrics,
    log,
    clock: Date.now,
    onDeliveries: () => workers.wake(),
  };
  const intake = runIntake(fauxqs.client, intakeDeps, { queueUrl, waitTimeSeconds: 1, concurrency: QUEUE_CONCURRENCY, signal: stop.signal });

  // 1. Throughput: the whole burst already queued, every notification to all 10 relying parties.
  const now = Date.now();
  await send(fauxqs.client, queueUrl, Array.from({ length: EVENTS }, (_, i) => JSON.stringify({ event: "passwordChange", uid: uidOf(i), ts: now / 1000, timestamp: now })));
  const expected = EVENTS * RPS;
  const started = performance.now();
  await until(async () => (await rps.count()) >= expected);
  const seconds = (performance.now() - started) / 1000;
  const rate = expected / seconds;
  const receivedBurst = await rps.received();
  const created = new Map((await sql<{ jti: string; created_at: Date }[]>`select jti::text, created_at from broker_deliveries`).map((r) => [r.jti, r.created_at.getTime()]));
  const burstLatency = receivedBurst.map(([jti, at]) => at - created.get(jti)!).sort((a, b) => a - b);

  // 2. Latency: 200 notifications/s, each user logged into one relying party (no resource servers).
  await sql`update broker_clients set is_resource_server = false`;
  await registry.reload();
  const paced = PACED_RATE * PACED_SECONDS;
  const offset = EVENTS;
  for (let i = 0; i < paced; i++) await sql`insert into broker_logins (uid, client_id) values (${uidOf(offset + i)}, ${clientIds[i % RPS]!})`;
  const before = await rps.count();
  const pacedStart = performance.now();
  for (let tick = 0; tick < PACED_SECONDS * 10; tick++) {
    const t = Date.now();
    const batch = Array.from({ length: PACED_RATE / 10 }, (_, j) => JSON.stringify({ event: "profileDataChange", uid: uidOf(offset + tick * (PACED_RATE / 10) + j), ts: t / 1000, timestamp: t }));
    await send(fauxqs.client, queueUrl, batch);
    const next = pacedStart + (tick + 1) * 100;
    await Bun.sleep(Math.max(0, next - performance.now()));
  }
  await until(async () => (await rps.count()) >= before + paced);
  const pacedJtis = await sql<{ jti: string; created_at: Date }[]>`select jti::text, created_at from broker_deliveries where event = 'profileDataChange'`;
  const pacedCreated = new Map(pacedJtis.map((r) => [r.jti, r.created_at.getTime()]));
  const pacedLatency = (await rps.received()).filter(([jti]) => pacedCreated.has(jti)).map(([jti, at]) => at - pacedCreated.get(jti)!).sort((a, b) => a - b);

  // 3. One relying party down: bursts to the ten, alone and with an eleventh that refuses connections
  // (a fresh client id each time, so its breaker starts closed), interleaved so other load hits both.
  await sql`update broker_clients set is_resource_server = true`;
  const burstRate = async (down: string | null, round: number): Promise<number> => {
    if (down) await upsertClient(sql, { client_id: down, webhook_url: "http://127.0.0.1:1/down", is_resource_server: true, delivery_format: "bearer" }, new Date());
    await registry.reload();
    const from = await rps.count();
    const t = Date.now();
    const first = offset + paced + round * DOWN_EVENTS;
    const burstStart = performance.now();
    await send(fauxqs.client, queueUrl, Array.from({ length: DOWN_EVENTS }, (_, i) => JSON.stringify({ event: "passwordChange", uid: uidOf(first + i), ts: t / 1000, timestamp: t })));
    await until(async () => (await rps.count()) >= from + DOWN_EVENTS * RPS);
    const rate = (DOWN_EVENTS * RPS * 1000) / (performance.now() - burstStart);
    if (down) await sql`update broker_clients set is_resource_server = false where client_id = ${down}`;
    return rate;
  };
  let aloneRate = 0;
  let downRate = 0;
  for (let pair = 0; pair < DOWN_PAIRS; pair++) {
    aloneRate = Math.max(aloneRate, await burstRate(null, 2 * pair));
    downRate = Math.max(downRate, await burstRate(`dddddddddddddd0${pair}`, 2 * pair + 1));
  }
  const downRatio = downRate / aloneRate;

  stop.abort();
  await intake;
  await workers.done;
  await registry.close();
  await sql.end();

  const baselineRate = Math.max(baselineBefore, await signingBaseline(baselineSets));
  console.log(`event-broker benchmark`);
  console.log(`  workload     ${EVENTS} notifications × ${RPS} relying parties = ${expected} SETs; delivery concurrency ${DELIVERY_CONCURRENCY}, queue concurrency ${QUEUE_CONCURRENCY}`);
  console.log(`  database     ${process.env.BENCH_DATABASE_URL ? "the given server (BENCH_DATABASE_URL)" : "throwaway PostgreSQL 15 cluster (fsync=off, synchronous_commit=off)"}`);
  console.log(`  queue / RPs  fauxqs and the ${RPS} loopback webhooks (answering 200) each in their own process`);
  console.log(`  throughput   ${expected} deliveries in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} deliveries/s`);
  console.log(`  latency      burst: p50 ${percentile(burstLatency, 50)} ms, p99 ${percentile(burstLatency, 99)} ms (intake → webhook receipt, queue drained as fast as it goes)`);
  console.log(`  paced        ${PACED_RATE} notifications/s for ${PACED_SECONDS} s, one RP each: p50 ${percentile(pacedLatency, 50)} ms, p99 ${percentile(pacedLatency, 99)} ms (target p99 < 1000 ms)`);
  console.log(`  one RP down  ${DOWN_EVENTS} notifications × ${RPS} healthy RPs, best of ${DOWN_PAIRS}: ${aloneRate.toFixed(0)} deliveries/s alone, ${downRate.toFixed(0)}/s with an eleventh refusing connections = ${(downRatio * 100).toFixed(0)}% (target ≥ 90%)`);
  console.log(`  peak RSS     ${peakRssMiB().toFixed(0)} MiB (benchmark process: intake, workers, PostgreSQL client)`);
  console.log(`  baseline     raw RS256 signing of ${baselineSets} SETs, 64 at a time (best of before and after the run): ${baselineRate.toFixed(0)} SETs/s`);
  console.log(`  ratio        ${((rate / baselineRate) * 100).toFixed(0)}% of baseline (target ≥ 50%)`);
  const pacedP99 = percentile(pacedLatency, 99);
  reportResult({
    tool: "event-broker",
    workload: `${EVENTS.toLocaleString("en-US")} notifications × ${RPS} RPs; paced ${PACED_RATE}/s for ${PACED_SECONDS} s`,
    throughput: rate,
    unit: "deliveries/s",
    p50Ms: percentile(pacedLatency, 50),
    p99Ms: pacedP99,
    peakRssMiB: peakRssMiB(),
    rssOf: "benchmark process",
    baseline: baselineRate,
    baselineUnit: "SETs/s raw RS256 signing",
    ratio: rate / baselineRate,
    targets: [
      { target: "≥ 50% of the signing baseline (issue 12)", met: rate / baselineRate >= 0.5 },
      { target: `p99 < 1 s at ${PACED_RATE} events/s (issue 12)`, met: pacedLatency.length > 0 && pacedP99 < 1000 },
      { target: "one RP down: the others' rate ≥ 90% of without (issue 12)", met: downRatio >= 0.9 },
    ],
    note: `latency intake → webhook at ${PACED_RATE} notifications/s; with the burst queued at once p99 ${percentile(burstLatency, 99)} ms; one RP down: ${(downRatio * 100).toFixed(0)}% of the rate without`,
  });
  if (pacedLatency.length !== paced || burstLatency.length < expected) process.exitCode = 1;
} finally {
  rps.stop();
  fauxqs.stop();
  cluster.stop();
}
