// Benchmark: 20,000 SES notifications (60% bounces with 1-3 recipients, 20% complaints, 20% deliveries;
// a fifth of the messages with /send metadata) on three source queues of the SQS emulator (its own
// process), end to end through runEmailQueues into a throwaway PostgreSQL cluster: parsed, recorded,
// metadata read, forwarded to the notification queue, deleted. Baseline, same run, same emulator: raw
// ReceiveMessage(10) + DeleteMessageBatch of the same messages on the same three queues, no handler.
// The two alternate in rounds (BENCH_ROUNDS, default 4; which goes first alternates too), so a change
// in this shared machine's speed during the run weighs on both alike; before them each handles
// BENCH_WARMUP (default 2,000) more, not counted, as a long-running process would have (the runtime
// compiles its hot paths in its first seconds).
// Target (issue 10): at least 50% of the baseline.
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createLogger } from "../src/core/logger.ts";
import { noopMetrics } from "../src/core/metrics.ts";
import { createSql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { messageDataKey } from "../src/email/message-data.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../src/email/migrations/index.ts";
import { DEFAULT_QUEUES_CONCURRENCY } from "../src/email/queues-config.ts";
import { sqsOutgoingQueue } from "../src/email/queues/outgoing-queue.ts";
import { COUNTED, runEmailQueues, type QueueCounts } from "../src/email/queues/run-queues.ts";
import { createSqsClient } from "../src/sqs/client.ts";
import { peakRssMiB, percentile, startFauxqsProcess } from "./support/measure.ts";
import { benchDatabase } from "./support/bench-database.ts";
import { reportResult } from "./support/report.ts";

const NOTIFICATIONS = Number(process.env.BENCH_NOTIFICATIONS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_QUEUES_CONCURRENCY);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 4));
// Not counted, for both: the first seconds of a process go to compiling its hot paths.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2_000);
const HMAC_KEY = "bench hmac key";
const KINDS = ["bounce", "complaint", "delivery"] as const;

let seed = 7;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

const iso = (ms: number) => new Date(ms).toISOString();
const headers = [
  { name: "From", value: "Firefox Accounts <accounts@firefox.com>" },
  { name: "Subject", value: "Verify your Firefox Account" },
  { name: "X-Template-Name", value: "verifyEmail" },
  { name: "X-Flow-Id", value: "5d2c1a3f0e9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c" },
];

/** An SNS-wrapped SES notification of the given kind, like SES sends (headers, DSN fields, extra keys). */
function notificationBody(i: number, kind: (typeof KINDS)[number], now: number): { body: string; messageId: string } {
  const messageId = `0101016805c8d1a7-${i.toString(16).padStart(8, "0")}-000000`;
  const recipients = Array.from({ length: kind === "bounce" ? 1 + Math.floor(random() * 3) : 1 }, (_, r) => `user${(i * 3 + r) % 50_000}@example.com`);
  const mail = { timestamp: iso(now - 2000), source: "Firefox Accounts <accounts@firefox.com>", sourceArn: "arn:aws:ses:us-west-2:123456789012:identity/accounts@firefox.com", sendingAccountId: "123456789012", messageId, destination: recipients, headersTruncated: false, headers, commonHeaders: { subject: "Verify your Firefox Account" } };
  const n =
    kind === "bounce"
      ? { notificationType: "Bounce", bounce: { bounceType: random() < 0.7 ? "Permanent" : "Transient", bounceSubType: "General", bouncedRecipients: recipients.map((emailAddress) => ({ emailAddress, status: "5.1.1", action: "failed", diagnosticCode: "smtp; 550 5.1.1 user unknown" })), timestamp: iso(now - 1000), feedbackId: `fb-${i}`, reportingMTA: "dns; mx.example.com" }, mail }
      : kind === "complaint"
        ? { notificationType: "Complaint", complaint: { complainedRecipients: [{ emailAddress: recipients[0] }], complaintFeedbackType: "abuse", timestamp: iso(now - 1000), feedbackId: `fb-${i}`, userAgent: "ExampleCorp Feedback Loop (V0.01)" }, mail }
        : { notificationType: "Delivery", mail, delivery: { timestamp: iso(now - 1000), recipients, processingTimeMillis: 1546, smtpResponse: "250 2.6.0 Message received", reportingMTA: "a8-70.smtp-out.amazonses.com" } };
  const body = JSON.stringify({ Type: "Notification", MessageId: `sns-${i}`, TopicArn: `arn:aws:sns:us-west-2:123456789012:fxa-email-${kind}`, Message: JSON.stringify(n), Timestamp: iso(now), SignatureVersion: "1", Signature: "EXAMPLE", SigningCertURL: "https://sns.example/cert.pem", UnsubscribeURL: "https://sns.example/unsubscribe" });
  return { body, messageId };
}

type Bodies = Record<(typeof KINDS)[number], string[]>;

/**
 * 60/20/20 over the three queues, dealt round-robin into ROUNDS parts, then WARMUP more for the warm-up;
 * and the message id of each counted notification.
 */
function workload(now: number) {
  const rounds: Bodies[] = Array.from({ length: ROUNDS }, () => ({ bounce: [], complaint: [], delivery: [] }));
  const warmup: Bodies = { bounce: [], complaint: [], delivery: [] };
  const ids: string[] = [];
  for (let i = 0; i < NOTIFICATIONS + WARMUP; i++) {
    const r = random();
    const kind = r < 0.6 ? "bounce" : r < 0.8 ? "complaint" : "delivery";
    const { body, messageId } = notificationBody(i, kind, now);
    if (i >= NOTIFICATIONS) {
      warmup[kind].push(body);
      continue;
    }
    rounds[i % ROUNDS]![kind].push(body);
    ids.push(messageId);
  }
  return { rounds, warmup, ids };
}

async function createQueue(sqs: SQSClient, name: string) {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "300" } }))).QueueUrl!;
}

async function fill(sqs: SQSClient, url: string, bodies: string[]) {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    sends.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })) })));
    if (sends.length >= 16) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
}

/** Raw receive(10) + DeleteMessageBatch, one loop per queue, the three at once, until they are empty. */
async function baseline(sqs: SQSClient, urls: string[]): Promise<{ messages: number; ms: number; cpuUs: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const counts = await Promise.all(urls.map(async (url) => {
    let done = 0;
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (Messages.length === 0) return done;
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      done += Messages.length;
    }
  }));
  const used = process.cpuUsage(cpu);
  return { messages: counts.reduce((a, b) => a + b, 0), ms: performance.now() - started, cpuUs: used.user + used.system };
}

const database = await benchDatabase("email_queues_bench");
const databaseUrl = database.url;
const emulator = await startFauxqsProcess();
// The tool's own client (fetch transport, MD5 checked per message by the tool), for the tool and the baseline alike.
const client = createSqsClient({ region: "us-east-1", endpoint: emulator.endpoint, credentials: { accessKeyId: "bench", secretAccessKey: "bench" }, fetch: true, md5: false });
const fauxqs = { client };
try {
  const pool = 2; // as the tool sizes it: one statement at a time (queues-config.ts)
  const sql = createSql(databaseUrl, { max: Number(process.env.BENCH_POOL ?? pool) });
  await migrate(sql, EMAIL_DOMAIN, EMAIL_MIGRATIONS);
  const now = Date.now();
  const { rounds, warmup, ids } = workload(now);
  // A fifth of the messages carry metadata stored by /send.
  const metadata = ids.filter((_, i) => i % 5 === 0).map((id) => ({ key: messageDataKey(HMAC_KEY, id), data: JSON.stringify(`{"flowId":"${id}"}`), created_at: now, expires_at: now + 86_400_000 }));
  for (let i = 0; i < metadata.length; i += 1000) await sql`insert into email_message_data ${sql(metadata.slice(i, i + 1000), "key", "data", "created_at", "expires_at")}`;

  const baselineUrls = await Promise.all(KINDS.map((k) => createQueue(fauxqs.client, `baseline-${k}`)));
  const sources = await Promise.all(KINDS.map((k) => createQueue(fauxqs.client, `fxa-email-${k}`)));
  const notificationUrl = await createQueue(fauxqs.client, "fxa-email-notification");
  const fillAll = (urls: string[], bodies: Bodies) => Promise.all(KINDS.map((k, i) => fill(fauxqs.client, urls[i]!, bodies[k])));

  const latencies: number[] = [];
  const counts: QueueCounts = { Bounce: 0, Complaint: 0, Delivery: 0, invalid: 0, failed: 0, forwardFailed: 0 };
  const tool = { messages: 0, ms: 0, cpuUs: 0 };
  const base = { messages: 0, ms: 0, cpuUs: 0 };
  const runTool = async (counted = true) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const round = await runEmailQueues(
      {
        sqs: fauxqs.client,
        sql,
        log: createLogger({ name: "bench", level: "error", format: "json" }),
        metrics: noopMetrics,
        hmacKey: HMAC_KEY,
        wrapOutgoing: false,
        // BENCH_NO_FORWARD=1 measures recording alone (no notification queue), to show what forwarding costs.
        ...(process.env.BENCH_NO_FORWARD ? {} : { notificationQueue: sqsOutgoingQueue(fauxqs.client, notificationUrl) }),
      },
      { sources, waitTimeSeconds: 0, concurrency: CONCURRENCY, drain: true, signal: new AbortController().signal, observer: { settled: (_m, _ok, ms) => void (counted && latencies.push(ms)) } },
    );
    const used = process.cpuUsage(cpu);
    if (!counted) return;
    tool.ms += performance.now() - started;
    tool.cpuUs += used.user + used.system;
    for (const key of COUNTED) counts[key] += round[key];
    tool.messages += round.Bounce + round.Complaint + round.Delivery;
  };
  const runBaseline = async (counted = true) => {
    const round = await baseline(fauxqs.client, baselineUrls);
    if (!counted) return;
    base.messages += round.messages;
    base.ms += round.ms;
    base.cpuUs += round.cpuUs;
  };
  if (WARMUP > 0) {
    await fillAll(baselineUrls, warmup);
    await fillAll(sources, warmup);
    await runBaseline(false);
    await runTool(false);
  }
  for (const [i, bodies] of rounds.entries()) {
    await fillAll(baselineUrls, bodies);
    await fillAll(sources, bodies);
    if (i % 2 === 0) {
      await runBaseline();
      await runTool();
    } else {
      await runTool();
      await runBaseline();
    }
  }
  const seconds = tool.ms / 1000;
  const processed = tool.messages;
  const rate = processed / seconds;
  const baselineRate = (base.messages * 1000) / base.ms;
  const baselineCpu = base.cpuUs / base.messages;
  latencies.sort((a, b) => a - b);
  const [{ rows }] = await sql<[{ rows: number }]>`select count(*)::int as rows from email_bounces`;
  await sql.end();

  const byKind = { bounce: rounds.reduce((n, r) => n + r.bounce.length, 0), complaint: rounds.reduce((n, r) => n + r.complaint.length, 0), delivery: rounds.reduce((n, r) => n + r.delivery.length, 0) };
  console.log(`email-queues benchmark`);
  console.log(`  workload     ${NOTIFICATIONS} notifications (${byKind.bounce} bounces with 1-3 recipients, ${byKind.complaint} complaints, ${byKind.delivery} deliveries) on 3 queues, concurrency ${CONCURRENCY} per queue, pool ${Number(process.env.BENCH_POOL ?? pool)}; ${ROUNDS} rounds alternating with the baseline, after ${WARMUP} each not counted`);
  console.log(`  database     ${database.description}`);
  console.log(`  queue        fauxqs emulator in a separate process; ${process.env.BENCH_NO_FORWARD ? "nothing forwarded (BENCH_NO_FORWARD)" : "every notification forwarded to a 4th queue"}; SDK over fetch`);
  console.log(`  processed    ${processed} (invalid ${counts.invalid}, failed ${counts.failed}, forward failed ${counts.forwardFailed}) in ${seconds.toFixed(2)} s; ${rows} bounce rows (warm-up included)`);
  console.log(`  throughput   ${rate.toFixed(0)} notifications/s`);
  console.log(`  latency      p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms (receipt → handled)`);
  console.log(`  cpu          ${(tool.cpuUs / processed).toFixed(0)} µs per notification in this process (baseline ${baselineCpu.toFixed(0)} µs per message)`);
  console.log(`  peak RSS     ${peakRssMiB().toFixed(0)} MiB (benchmark process)`);
  console.log(`  baseline     raw receive(10) + DeleteMessageBatch on the same 3 queues, no handler: ${baselineRate.toFixed(0)} messages/s`);
  console.log(`  ratio        ${((rate / baselineRate) * 100).toFixed(0)}% of baseline (target ≥ 50%)`);
  reportResult({
    tool: "email-queues",
    workload: `${NOTIFICATIONS.toLocaleString("en-US")} notifications on 3 queues, concurrency ${CONCURRENCY} per queue, ${ROUNDS} rounds alternating with the baseline after a warm-up of ${WARMUP.toLocaleString("en-US")}`,
    throughput: rate,
    unit: "notifications/s",
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    peakRssMiB: peakRssMiB(),
    rssOf: "benchmark process",
    baseline: baselineRate,
    baselineUnit: "messages/s raw receive+delete",
    ratio: rate / baselineRate,
    targets: [{ target: "≥ 50% of baseline (issue 10)", met: rate / baselineRate >= 0.5 }],
    note: `SQS emulator → PostgreSQL${process.env.BENCH_NO_FORWARD ? "" : ", forwarded to a 4th queue"}; latency receipt → handled`,
  });
  if (processed !== NOTIFICATIONS) {
    console.error(`expected ${NOTIFICATIONS} notifications processed, got ${processed}`);
    process.exitCode = 1;
  }
} finally {
  client.destroy();
  emulator.stop();
  await database.stop();
}
