// Benchmark: 20,000 account events (1/3 each type, 2,000 users) from the SQS emulator into PostgreSQL,
// end to end through processAccountEvents. Baseline, same run, same emulator: raw ReceiveMessage(10) +
// DeleteMessageBatch of the same number of messages with no handler.
// Target (issue 3): ≥ 3,000 events/s and ≥ 40% of the baseline on a 2-core machine.
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createLogger } from "../src/core/logger.ts";
import { noopMetrics } from "../src/core/metrics.ts";
import { createSql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { dbPoolSize } from "../src/tokenserver/account-events-config.ts";
import { processAccountEvents } from "../src/tokenserver/account-events.ts";
import { TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS } from "../src/tokenserver/migrations/index.ts";
import { createTokenserverRepository } from "../src/tokenserver/repository.ts";
import { startCluster } from "../test/support/pg-cluster.ts";
import { peakRssMiB, percentile, startFauxqsProcess } from "./support/measure.ts";
import { reportResult } from "./support/report.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const USERS = 2_000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const TYPES = ["delete", "reset", "passwordChange"] as const;

async function fill(sqs: SQSClient, queueUrl: string, bodies: (i: number) => string) {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < EVENTS; i += 10) {
    const entries = Array.from({ length: Math.min(10, EVENTS - i) }, (_, j) => ({ Id: String(j), MessageBody: bodies(i + j) }));
    sends.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    if (sends.length >= 16) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
}

async function createQueue(sqs: SQSClient, name: string) {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "300" } }))).QueueUrl!;
}

async function baseline(sqs: SQSClient): Promise<number> {
  const url = await createQueue(sqs, "baseline");
  await fill(sqs, url, (i) => `baseline ${i}`);
  const started = performance.now();
  let done = 0;
  while (done < EVENTS) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) break;
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    done += Messages.length;
  }
  return (done * 1000) / (performance.now() - started);
}

const cluster = await startCluster();
const fauxqs = await startFauxqsProcess();
try {
  const sql = createSql(cluster.url, { max: Number(process.env.BENCH_POOL ?? dbPoolSize(CONCURRENCY)) });
  await migrate(sql, TOKENSERVER_DOMAIN, TOKENSERVER_MIGRATIONS);
  const repo = createTokenserverRepository(sql);
  await repo.addNode("https://node1.example.com", 1_000_000);
  await sql`insert into users (service, email, nodeid, generation, client_state, created_at)
    select (select id from services where service = 'sync-1.5'), 'user' || g || '@example.com',
           (select id from nodes limit 1), 1000, '', 1
    from generate_series(0, ${USERS - 1}) g`;

  const baselineRate = await baseline(fauxqs.client);

  const queueUrl = await createQueue(fauxqs.client, "account-events");
  await fill(fauxqs.client, queueUrl, (i) => {
    const type = TYPES[i % 3]!;
    const event: Record<string, unknown> = { event: type, uid: `user${i % USERS}`, iss: "example.com" };
    if (type !== "delete") event.generation = 2_000 + i;
    return JSON.stringify({ Message: JSON.stringify(event) });
  });

  const latencies: number[] = [];
  const started = performance.now();
  const counts = await processAccountEvents(
    { sqs: fauxqs.client, repo, metrics: noopMetrics, log: createLogger({ name: "bench", level: "error", format: "json" }) },
    {
      queueUrl, waitTimeSeconds: 0, concurrency: CONCURRENCY, drain: true, signal: new AbortController().signal,
      observer: { settled: (_m, _ok, ms) => void latencies.push(ms) },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const processed = counts.delete + counts.reset + counts.passwordChange;
  const rate = processed / seconds;
  latencies.sort((a, b) => a - b);
  await sql.end();

  console.log(`process-account-events benchmark`);
  console.log(`  workload     ${EVENTS} events (1/3 delete, reset, passwordChange) over ${USERS} users, concurrency ${CONCURRENCY}, pool ${Number(process.env.BENCH_POOL ?? dbPoolSize(CONCURRENCY))}`);
  console.log(`  database     throwaway PostgreSQL 15 cluster (fsync=off, synchronous_commit=off)`);
  console.log(`  queue        fauxqs emulator in a separate process`);
  console.log(`  processed    ${processed} (failed ${counts.failed}, invalid ${counts.invalid}) in ${seconds.toFixed(2)} s`);
  console.log(`  throughput   ${rate.toFixed(0)} events/s`);
  console.log(`  latency      p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms (receipt → handled)`);
  console.log(`  peak RSS     ${peakRssMiB().toFixed(0)} MiB (benchmark process)`);
  console.log(`  baseline     raw receive(10) + DeleteMessageBatch, no handler: ${baselineRate.toFixed(0)} messages/s`);
  console.log(`  ratio        ${((rate / baselineRate) * 100).toFixed(0)}% of baseline (target ≥ 40%, and ≥ 3,000 events/s)`);
  reportResult({
    tool: "process-account-events",
    workload: `${EVENTS.toLocaleString("en-US")} events, concurrency ${CONCURRENCY}`,
    throughput: rate,
    unit: "events/s",
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    peakRssMiB: peakRssMiB(),
    rssOf: "benchmark process",
    baseline: baselineRate,
    baselineUnit: "messages/s raw receive+delete",
    ratio: rate / baselineRate,
    targets: [
      { target: "≥ 3,000 events/s (issue 3)", met: rate >= 3_000 },
      { target: "≥ 40% of baseline (issue 3)", met: rate / baselineRate >= 0.4 },
    ],
    note: "SQS emulator → PostgreSQL; latency receipt → handled",
  });
  if (processed !== EVENTS) {
    console.error(`expected ${EVENTS} events processed, got ${processed}`);
    process.exitCode = 1;
  }
} finally {
  fauxqs.stop();
  cluster.stop();
}
