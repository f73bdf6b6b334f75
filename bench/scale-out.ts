// Benchmark: what three instances of a tool do together against what one does, in the same run, for
// process-account-events and email-queues (sharing one SQS queue) and the event broker's delivery
// workers (sharing one outbox). Each instance is its own process (`bun cmd/<tool>.ts`, the production
// defaults for concurrency), with the SQS emulator, the relying parties and PostgreSQL in processes of
// their own, all on this machine.
//
// The workload is queued (or written to the outbox) before the instances start. The clock starts once
// every instance has handled something (each sends StatsD to this process under its own prefix), and
// what was done before that is left out, so start-up is not measured; it stops when the work is done
// (the queue empty; every SET received). Combined rate = work done in that window / its length.
// Each configuration runs twice, in the order 1, 3, 3, 1 instances, and its two windows are pooled, so a
// change in the machine's other load during the run weighs on both alike.
//
// The network: in production SQS and the relying parties are across one, and an instance spends most of a
// message waiting on it; that waiting is what more instances share out. On loopback the emulator answers
// in a fraction of a millisecond and one instance already keeps this machine's two cores busy, so three
// cannot do more. The instances therefore reach the emulator through ./support/latency-proxy.ts, which
// answers BENCH_SQS_LATENCY_MS later (default 10, a same-region SQS call), and the relying parties answer
// BENCH_RP_LATENCY_MS after the request (default 50, a webhook across the internet); 0 and 0 measure loopback.
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createSocket } from "node:dgram";
import { loadavg } from "node:os";
import { BROKER_SCHEMA } from "../src/broker/migrations/index.ts";
import { insertDeliveries, upsertClient, type NewDelivery } from "../src/broker/queries.ts";
import { createSql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../src/email/migrations/index.ts";
import { TOKENSERVER_SCHEMA } from "../src/tokenserver/migrations/index.ts";
import { createTokenserverRepository } from "../src/tokenserver/repository.ts";
import { keys } from "../test/support/broker.ts";
import { bounceNotification, complaintNotification, deliveryNotification, snsBody } from "../test/support/email-queues.ts";
import { startInstances, stopInstances } from "../test/support/tool-instances.ts";
import { benchDatabase } from "./support/bench-database.ts";
import { reportResult } from "./support/report.ts";
import { startFauxqsProcess, startLatencyProxy } from "./support/measure.ts";
import { fillQueue } from "./support/sqs-fill.ts";
import { startRelyingPartiesProcess } from "./support/start-relying-parties.ts";

const INSTANCES = 3;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 6_000);
const USERS = 2_000;
const NOTIFICATIONS = Number(process.env.BENCH_NOTIFICATIONS ?? 3_000);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 2_500);
const RPS = 4;
const PHASE_LIMIT_MS = 120_000;
const SQS_LATENCY_MS = Number(process.env.BENCH_SQS_LATENCY_MS ?? 10);
const RP_LATENCY_MS = Number(process.env.BENCH_RP_LATENCY_MS ?? 50);

/** One tool's workload, ready to run: how its instances are started and how much of it is done. */
interface Prepared {
  args: string[];
  env: Record<string, string>;
  total: number;
  done(): Promise<number>;
}

interface ToolBench {
  tool: string;
  unit: string;
  workload: string;
  /** StatsD names of which each instance sends one per unit of work. */
  counted: string[];
  prepare(phase: string): Promise<Prepared>;
}

interface PhaseResult {
  instances: number;
  rate: number;
  measured: number;
  seconds: number;
  /** Units each instance reported (StatsD over loopback UDP). */
  perInstance: number[];
  duplicates?: number;
}

/** Counts StatsD lines by prefix (`<prefix>.<name>:…`), for the names that count a unit of work. */
async function startMetricsSink() {
  const socket = createSocket("udp4");
  const counts = new Map<string, number>();
  let counted = new Set<string>();
  socket.on("message", (packet) => {
    for (const line of packet.toString().split("\n")) {
      const dot = line.indexOf(".");
      const name = line.slice(dot + 1, line.indexOf(":", dot));
      if (dot > 0 && counted.has(name)) counts.set(line.slice(0, dot), (counts.get(line.slice(0, dot)) ?? 0) + 1);
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    count: (prefix: string) => counts.get(prefix) ?? 0,
    countOnly: (names: string[]) => void (counted = new Set(names)),
    close: () => socket.close(),
  };
}

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = performance.now() + PHASE_LIMIT_MS;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

async function createQueue(sqs: SQSClient, name: string): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "300" } }))).QueueUrl!;
}

/** Messages not yet deleted: visible, in flight or delayed. */
async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] as const;
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...names] }));
  return names.reduce((sum, n) => sum + Number(Attributes[n] ?? 0), 0);
}

const database = await benchDatabase("scale_out");
const fauxqs = await startFauxqsProcess();
// The instances go through the proxy; this process fills and watches the queues directly.
const network = SQS_LATENCY_MS > 0 ? await startLatencyProxy(fauxqs.endpoint, SQS_LATENCY_MS) : { endpoint: fauxqs.endpoint, stop() {} };
const rps = await startRelyingPartiesProcess(RPS, RP_LATENCY_MS);
const sink = await startMetricsSink();
const sql = createSql(database.url, { max: 4 });
const sqsEnv = { AWS_ENDPOINT_URL_SQS: network.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench" };
const networkNote = SQS_LATENCY_MS > 0 || RP_LATENCY_MS > 0 ? `SQS answering ${SQS_LATENCY_MS} ms and webhooks ${RP_LATENCY_MS} ms later, as across a network` : "everything on loopback";

const benches: ToolBench[] = [
  {
    tool: "process-account-events",
    unit: "events/s",
    workload: `${EVENTS} events per phase (a third each of delete, reset, passwordChange) over ${USERS} users, one queue`,
    counted: ["delete", "reset", "passwordChange"],
    async prepare(phase) {
      await sql`truncate users restart identity`;
      await sql`insert into users (service, email, nodeid, generation, client_state, created_at)
        select (select id from services where service = 'sync-1.5'), 'user' || g || '@example.com', (select id from nodes limit 1), 1000, '', 1
        from generate_series(0, ${USERS - 1}) g`;
      const queueUrl = await createQueue(fauxqs.client, `account-events-${phase}`);
      const types = ["delete", "reset", "passwordChange"] as const;
      await fillQueue(fauxqs.client, queueUrl, Array.from({ length: EVENTS }, (_, i) => {
        const event = { event: types[i % 3], uid: `user${i % USERS}`, iss: "example.com", ...(i % 3 === 0 ? {} : { generation: 2_000 + i }) };
        return JSON.stringify({ Message: JSON.stringify(event) });
      }));
      return { args: ["--queue-wait-time", "1", queueUrl], env: { ...sqsEnv, SYNC_TOKENSERVER__DATABASE_URL: database.url }, total: EVENTS, done: async () => EVENTS - (await depth(fauxqs.client, queueUrl)) };
    },
  },
  {
    tool: "email-queues",
    unit: "notifications/s",
    workload: `${NOTIFICATIONS} SES notifications per phase (3/5 bounces, 1/5 complaints, 1/5 deliveries), one source queue, forwarded to a notification queue`,
    counted: ["notification"],
    async prepare(phase) {
      await sql`truncate email_bounces restart identity`;
      const source = await createQueue(fauxqs.client, `ses-${phase}`);
      const forward = await createQueue(fauxqs.client, `notifications-${phase}`);
      await fillQueue(fauxqs.client, source, Array.from({ length: NOTIFICATIONS }, (_, i) => {
        const to = [`user${i}@example.com`];
        return snsBody(i % 5 === 3 ? complaintNotification(to) : i % 5 === 4 ? deliveryNotification(to) : bounceNotification(to));
      }));
      return {
        args: ["--queue-wait-time", "1"],
        env: { ...sqsEnv, DATABASE_URL: database.url, FXA_EMAIL_HMACKEY: "bench hmac key", FXA_EMAIL_AWS_SQSURLS_BOUNCE: source, FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: forward },
        total: NOTIFICATIONS,
        done: async () => NOTIFICATIONS - (await depth(fauxqs.client, source)),
      };
    },
  },
  {
    tool: "event-broker",
    unit: "deliveries/s",
    workload: `${DELIVERIES} outbox rows per phase to ${RPS} loopback relying parties answering 200${RP_LATENCY_MS > 0 ? ` after ${RP_LATENCY_MS} ms` : ""}; \`serve --disable-queue-worker --disable-http\``,
    counted: ["proxy.success"],
    async prepare() {
      await sql`truncate broker_deliveries, broker_attempts restart identity`;
      const now = Date.now();
      const rows: NewDelivery[] = Array.from({ length: DELIVERIES }, (_, i) => {
        const uid = i.toString(16).padStart(32, "0");
        return { client_id: `c${i % RPS}`.padStart(16, "0"), uid, event: "passwordChange", payload: { event: "passwordChange", uid, changeTime: now, timestamp: now }, jti: crypto.randomUUID(), source_message_id: null };
      });
      for (let i = 0; i < rows.length; i += 1000) await insertDeliveries(sql, rows.slice(i, i + 1000), new Date());
      const before = await rps.count();
      return {
        args: ["serve", "--disable-queue-worker", "--disable-http", "--allow-insecure-webhooks"],
        env: { DATABASE_URL: database.url, OPENID_ISSUER: keys().issuer, OPENID_KEY: JSON.stringify(keys().privateJwk) },
        total: DELIVERIES,
        done: async () => (await rps.count()) - before,
      };
    },
  },
];

async function runPhase(bench: ToolBench, instances: number, phase: string): Promise<PhaseResult> {
  const prepared = await bench.prepare(phase);
  sink.countOnly(bench.counted);
  const prefix = (i: number) => `${phase}i${i}`;
  const running = startInstances(bench.tool, instances, {
    args: prepared.args,
    env: (i) => ({ ...prepared.env, STATSD_HOST: "127.0.0.1", STATSD_PORT: String(sink.port), STATSD_PREFIX: prefix(i) }),
  });
  try {
    const perInstance = () => running.map((_, i) => sink.count(prefix(i)));
    const allWorking = () => perInstance().every((n) => n > 0);
    await until(async () => allWorking() || (await prepared.done()) >= prepared.total, `${bench.tool}: every instance at work`);
    if (!allWorking()) throw new Error(`${bench.tool}: the work was done before all ${instances} instances took part; give it a larger workload`);
    const started = performance.now();
    const doneBefore = await prepared.done();
    await until(async () => (await prepared.done()) >= prepared.total, `${bench.tool}: the work to be done`);
    const seconds = (performance.now() - started) / 1000;
    const codes = await stopInstances(running);
    if (codes.some((c) => c !== 0)) throw new Error(`${bench.tool}: instances exited ${codes.join(", ")}`);
    const measured = prepared.total - doneBefore;
    return { instances, rate: measured / seconds, measured, seconds, perInstance: perInstance() };
  } finally {
    for (const instance of running) instance.child.kill();
  }
}

/** Phases of one configuration as one: their work over their summed windows. */
function pooled(phases: PhaseResult[]): PhaseResult {
  const measured = phases.reduce((n, p) => n + p.measured, 0);
  const seconds = phases.reduce((n, p) => n + p.seconds, 0);
  const perInstance = phases[0]!.perInstance.map((_, i) => phases.reduce((n, p) => n + p.perInstance[i]!, 0));
  return { instances: phases[0]!.instances, rate: measured / seconds, measured, seconds, perInstance };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");
const loadAtStart = load();
const results: { bench: ToolBench; one: PhaseResult; many: PhaseResult }[] = [];
try {
  await migrate(sql, TOKENSERVER_SCHEMA.domain, TOKENSERVER_SCHEMA.migrations);
  await migrate(sql, EMAIL_DOMAIN, EMAIL_MIGRATIONS);
  await migrate(sql, BROKER_SCHEMA.domain, BROKER_SCHEMA.migrations);
  await createTokenserverRepository(sql).addNode("https://node1.example.com", 1_000_000);
  for (const [i, url] of rps.urls.entries()) {
    await upsertClient(sql, { client_id: `c${i}`.padStart(16, "0"), webhook_url: url, is_resource_server: false, delivery_format: "bearer" }, new Date());
  }
  for (const bench of benches) {
    const phases: PhaseResult[] = [];
    for (const [round, n] of [1, INSTANCES, INSTANCES, 1].entries()) phases.push(await runPhase(bench, n, `${bench.tool.split("-")[0]}${round}n${n}`));
    const one = pooled(phases.filter((p) => p.instances === 1));
    const many = pooled(phases.filter((p) => p.instances === INSTANCES));
    if (bench.tool === "event-broker") {
      const jtis = (await rps.received()).map(([jti]) => jti);
      many.duplicates = jtis.length - new Set(jtis).size;
    }
    results.push({ bench, one, many });
  }

  console.log(`scale-out benchmark: ${INSTANCES} instances against 1, same run, each instance its own process (bun cmd/<tool>.ts, default concurrency)`);
  console.log(`  database     ${database.description}`);
  console.log(`  queue / RPs  fauxqs and the ${RPS} loopback webhooks each in their own process; all on this machine (${navigator.hardwareConcurrency} cores; load average ${loadAtStart} at start, ${load()} at end)`);
  console.log(`  network      ${networkNote} (BENCH_SQS_LATENCY_MS, BENCH_RP_LATENCY_MS)`);
  console.log(`  measured     from the moment every instance has handled something (start-up left out) until the work is done; 1, ${INSTANCES}, ${INSTANCES}, 1 instances, each configuration's two windows pooled`);
  for (const { bench, one, many } of results) {
    console.log(`${bench.tool}`);
    console.log(`  workload     ${bench.workload}`);
    console.log(`  1 instance   ${fmt(one.rate)} ${bench.unit} (${fmt(one.measured)} in ${one.seconds.toFixed(1)} s)`);
    console.log(`  ${INSTANCES} instances  ${fmt(many.rate)} ${bench.unit} combined (${fmt(many.measured)} in ${many.seconds.toFixed(1)} s); handled per instance ${many.perInstance.map(fmt).join(" / ")}`);
    if (many.duplicates !== undefined) console.log(`  duplicates   ${many.duplicates} SETs received twice, in all four phases`);
    console.log(`  ratio        ${(many.rate / one.rate).toFixed(2)}× one instance`);
    // A row of its own in bench/results.md: three instances, with one instance as the same-run baseline.
    reportResult({
      tool: `${bench.tool} ×${INSTANCES}`,
      workload: bench.workload,
      throughput: many.rate,
      unit: `${bench.unit} combined`,
      p50Ms: null,
      p99Ms: null,
      peakRssMiB: null,
      rssOf: "tool process",
      baseline: one.rate,
      baselineUnit: `${bench.unit}, 1 instance`,
      ratio: many.rate / one.rate,
      targets: [{ target: `${INSTANCES} instances faster than 1 (issue 14)`, met: many.rate > one.rate }],
      note: `scale-out: ${INSTANCES} processes on one queue / database, ${networkNote}; handled per instance ${many.perInstance.map(fmt).join(" / ")}${many.duplicates !== undefined ? `; ${many.duplicates} duplicate SETs` : ""}`,
    });
  }
  if (results.some((r) => r.many.duplicates)) process.exitCode = 1;
} finally {
  await sql.end();
  sink.close();
  rps.stop();
  network.stop();
  fauxqs.stop();
  await database.stop();
}
