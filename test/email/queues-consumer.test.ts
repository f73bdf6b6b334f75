// email-queues' consumer against real PostgreSQL and the SQS emulator: every vector end to end (rows,
// forwarded bytes, deleted), the upstream `queues/test.rs` (spec/email.md §12.8), one queue for all
// types, idempotent recording, --wrap-outgoing, metadata, the round trip with email-send, the
// dead-letter queue, and the faults (database down, notification queue unreachable, stopping mid-batch).
import { beforeEach, describe, expect, test } from "bun:test";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createSql } from "../../src/db/client.ts";
import { messageDataKey, storeMessageData } from "../../src/email/message-data.ts";
import { sqsOutgoingQueue, type OutgoingQueue } from "../../src/email/queues/outgoing-queue.ts";
import { runEmailQueues, type EmailQueuesOptions } from "../../src/email/queues/run-queues.ts";
import { bounceNotification, complaintNotification, deliveryNotification, sesVectors, snsBody } from "../support/email-queues.ts";
import { createEmailTestDb, HMAC_KEY, postSend, recordingProvider, testApp } from "../support/email.ts";
import { captureLog, type CapturedLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { startTestSqs } from "../support/sqs.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait.ts";

const db = await createEmailTestDb();
const sqs = await startTestSqs();
beforeEach(() => db.reset());

let counter = 0;
interface Queues {
  names: { source: string; notification: string; dlq: string };
  source: string;
  notification: string;
  dlq: string;
}

function newQueues(sourceAttributes?: Record<string, string>): Queues {
  const n = ++counter;
  const names = { source: `ses-${n}`, notification: `notification-${n}`, dlq: `dead-${n}` };
  return { names, source: sqs.createQueue(names.source, sourceAttributes), notification: sqs.createQueue(names.notification), dlq: sqs.createQueue(names.dlq) };
}

async function sendAll(url: string, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map((b, j) => ({ Id: String(j), MessageBody: b })) }));
  }
}

/** Bodies waiting on a queue, oldest first. */
const bodiesOn = (name: string) => sqs.server.inspectQueue(name)!.messages.ready.map((m) => m.body);

interface RunOptions extends Partial<EmailQueuesOptions> {
  queues: Queues;
  sources?: string[];
  captured?: CapturedLog;
  wrapOutgoing?: boolean;
  notificationQueue?: OutgoingQueue | null;
  sql?: typeof db.sql;
  now?: () => number;
}

async function run(options: RunOptions) {
  const captured = options.captured ?? captureLog("info");
  const metrics = recordingMetrics();
  const counts = await runEmailQueues(
    {
      sqs: sqs.client,
      sql: options.sql ?? db.sql,
      log: captured.log,
      metrics,
      hmacKey: HMAC_KEY,
      wrapOutgoing: options.wrapOutgoing ?? false,
      ...(options.notificationQueue === null ? {} : { notificationQueue: options.notificationQueue ?? sqsOutgoingQueue(sqs.client, options.queues.notification) }),
      ...(options.now ? { now: options.now } : {}),
    },
    {
      sources: options.sources ?? [options.queues.source],
      waitTimeSeconds: options.waitTimeSeconds ?? 0,
      concurrency: 4,
      drain: options.drain ?? true,
      signal: options.signal ?? new AbortController().signal,
      backoff: { baseMs: 5, capMs: 50 },
      ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue } : {}),
      ...(options.statsIntervalMs ? { statsIntervalMs: options.statsIntervalMs } : {}),
    },
  );
  return { counts, metrics, captured };
}

async function rows() {
  return (await db.sql`select email, bounce_type, bounce_sub_type, created_at, feedback_key from email_bounces order by id`).map((r) => ({
    email: r.email as string,
    bounceType: r.bounce_type as number,
    bounceSubType: r.bounce_sub_type as number,
    createdAt: Number(r.created_at),
    feedbackKey: r.feedback_key as string,
  }));
}

describe("every vector through a real queue and database", () => {
  for (const vector of sesVectors()) {
    test(vector.name, async () => {
      const queues = newQueues();
      await sendAll(queues.source, [vector.message.Body!]);
      const { counts, captured, metrics } = await run({ queues, deadLetterQueue: sqsOutgoingQueue(sqs.client, queues.dlq) });
      const { expected } = vector;
      // Deleted either way: processed, or (our no-poison policy) dead-lettered.
      expect(sqs.depth(queues.names.source)).toBe(0);
      const written = await rows();
      expect(written.map(({ email, bounceType, bounceSubType }) => ({ email, bounceType, bounceSubType }))).toEqual(expected.dbWrites);
      if (expected.parse === "error") {
        expect(counts.invalid).toBe(1);
        expect(bodiesOn(queues.names.notification)).toEqual([]);
        const dead = sqs.server.inspectQueue(queues.names.dlq)!.messages.ready;
        expect(dead.map((m) => m.body)).toEqual([vector.message.Body!]);
        expect(dead[0]!.messageAttributes.reason!.StringValue).toBe(expected.error!.message);
        const line = captured.lines.find((l) => l.msg === "Error receiving from queue")!;
        expect(line.fields).toMatchObject({ reason: expected.error!.message, errno: 103, deadLettered: true });
        expect(typeof line.fields.messageId).toBe("string");
        expect(metrics.count("notification.invalid", { source: "sqs" })).toBe(1);
        return;
      }
      expect(bodiesOn(queues.names.notification)).toEqual([expected.forwardedBodyExact!]);
      expect(bodiesOn(queues.names.dlq)).toEqual([]);
      // created_at is the SES event time of the bounce or complaint.
      const forwarded = JSON.parse(expected.forwardedBodyExact!);
      const eventTime = Date.parse((forwarded.bounce ?? forwarded.complaint ?? forwarded.delivery).timestamp);
      for (const row of written) expect(row.createdAt).toBe(eventTime);
      expect(metrics.count("forward.sent")).toBe(1);
    });
  }
});

describe("queues/test.rs (spec/email.md §12.8)", () => {
  test("process: a bounce, a complaint and a delivery on their three queues → 3", async () => {
    const queues = newQueues();
    const complaintQueue = sqs.createQueue(`complaint-${counter}`);
    const deliveryQueue = sqs.createQueue(`delivery-${counter}`);
    await sendAll(queues.source, [snsBody(bounceNotification(["fxa-email-service.queues.mock.bounce@example.com"]))]);
    await sendAll(complaintQueue, [snsBody(complaintNotification(["fxa-email-service.queues.mock.complaint@example.com"]))]);
    await sendAll(deliveryQueue, [snsBody(deliveryNotification(["fxa-email-service.queues.mock.delivery@example.com"]))]);
    const { counts } = await run({ queues, sources: [queues.source, complaintQueue, deliveryQueue] });
    expect(counts.Bounce + counts.Complaint + counts.Delivery).toBe(3);
    expect((await rows()).map((r) => [r.email, r.bounceType, r.bounceSubType])).toEqual(
      expect.arrayContaining([
        ["fxa-email-service.queues.mock.bounce@example.com", 1, 2],
        ["fxa-email-service.queues.mock.complaint@example.com", 3, 0],
      ]),
    );
    expect(bodiesOn(queues.names.notification).map((b) => JSON.parse(b).notificationType).sort()).toEqual(["Bounce", "Complaint", "Delivery"]);
  });

  test("process_error: a Bounce carrying only a complaint payload is `Invalid notification: missing bounce payload`", async () => {
    const queues = newQueues();
    const { bounce: _, ...rest } = bounceNotification(["x@example.com"]);
    const body = snsBody({ ...rest, complaint: complaintNotification(["x@example.com"]).complaint });
    await sendAll(queues.source, [body]);
    const { counts, captured } = await run({ queues, deadLetterQueue: sqsOutgoingQueue(sqs.client, queues.dlq) });
    expect(counts.invalid).toBe(1);
    expect(captured.lines.find((l) => l.msg === "Error receiving from queue")!.fields.reason).toBe("Invalid notification: missing bounce payload");
    expect(await rows()).toEqual([]);
    expect(bodiesOn(queues.names.notification)).toEqual([]);
    expect(bodiesOn(queues.names.dlq)).toEqual([body]);
    expect(sqs.depth(queues.names.source)).toBe(0);
  });
});

describe("the consumer", () => {
  test("one queue carries all three types: the type comes from notificationType", async () => {
    const queues = newQueues();
    await sendAll(queues.source, [
      snsBody(deliveryNotification(["d@example.com"])),
      snsBody(bounceNotification(["b@example.com"], { bounceType: "Transient", bounceSubType: "MailboxFull" })),
      snsBody(complaintNotification(["c@example.com"], { feedbackType: "fraud" })),
    ]);
    const { counts } = await run({ queues });
    expect(counts).toEqual({ Bounce: 1, Complaint: 1, Delivery: 1, invalid: 0, failed: 0, forwardFailed: 0 });
    const byEmail = Object.fromEntries((await rows()).map((r) => [r.email, [r.bounceType, r.bounceSubType]]));
    expect(byEmail).toEqual({ "b@example.com": [2, 5], "c@example.com": [3, 11] });
  });

  test("a fresh pool's first statement records: nothing waits for postgres.js to learn the array types", async () => {
    // postgres.js's sql.array() sends "a,b" (refused as a malformed array literal) until a connection
    // has fetched the type catalogue; the store sends literals, so its first batch is not lost to that.
    const queues = newQueues();
    await sendAll(queues.source, [snsBody(bounceNotification(["first@example.com", "second@example.com"]))]);
    const fresh = createSql(db.url, { max: 2 });
    try {
      const { counts } = await run({ queues, sql: fresh });
      expect(counts).toEqual({ Bounce: 1, Complaint: 0, Delivery: 0, invalid: 0, failed: 0, forwardFailed: 0 });
    } finally {
      await fresh.end();
    }
    expect((await rows()).map((r) => r.email).sort()).toEqual(["first@example.com", "second@example.com"]);
  });

  test("the same notification three times is one row per recipient (forwarded each time, at least once)", async () => {
    const queues = newQueues();
    const body = snsBody(bounceNotification(["one@example.com", "two@example.com"], { feedbackId: "fb-1" }));
    await sendAll(queues.source, [body, body, body]);
    const first = await run({ queues });
    expect(first.counts.Bounce).toBe(3);
    expect(first.metrics.count("bounce.recorded")).toBe(2);
    expect(first.metrics.count("bounce.duplicate")).toBe(4);
    await sendAll(queues.source, [body]); // and a redelivery later
    await run({ queues });
    expect((await rows()).map((r) => r.email).sort()).toEqual(["one@example.com", "two@example.com"]);
    expect(bodiesOn(queues.names.notification).length).toBe(4);
    // Another notification (another feedbackId) for the same address is a new problem.
    await sendAll(queues.source, [snsBody(bounceNotification(["one@example.com"], { feedbackId: "fb-2" }))]);
    await run({ queues });
    expect((await rows()).filter((r) => r.email === "one@example.com").length).toBe(2);
  });

  test("--wrap-outgoing: the auth server's JSON.parse(JSON.parse(Body).Message) gives the notification", async () => {
    const queues = newQueues();
    const vector = sesVectors().find((v) => v.name === "ses/bounce-02-permanent-general-with-dsn")!;
    await sendAll(queues.source, [vector.message.Body!]);
    await run({ queues, wrapOutgoing: true });
    const [body] = bodiesOn(queues.names.notification);
    expect(body).toBe(JSON.stringify({ Type: "Notification", Message: vector.expected.forwardedBodyExact }));
    expect(JSON.parse(JSON.parse(body!).Message)).toEqual(vector.expected.forwarded!);
  });

  test("stored metadata rides along, for every notification about the message until it expires", async () => {
    const queues = newQueues();
    const now = Date.now();
    await storeMessageData(db.sql, messageDataKey(HMAC_KEY, "0101-meta"), '{"flowId":"f1"}', now, 60_000);
    await storeMessageData(db.sql, messageDataKey(HMAC_KEY, "0101-old"), "stale", now - 120_000, 60_000);
    await sendAll(queues.source, [
      snsBody(deliveryNotification(["m@example.com"], { messageId: "0101-meta" })),
      snsBody(complaintNotification(["m@example.com"], { messageId: "0101-meta" })),
      snsBody(bounceNotification(["o@example.com"], { messageId: "0101-old" })),
      snsBody(bounceNotification(["n@example.com"], { messageId: "ses:0101-meta" })),
    ]);
    await run({ queues });
    const forwarded = bodiesOn(queues.names.notification).map((b) => JSON.parse(b));
    const metaOf = (id: string) => forwarded.filter((f) => f.mail.messageId === id).map((f) => [f.notificationType, f.metadata]);
    expect(metaOf("0101-meta").sort()).toEqual([["Complaint", '{"flowId":"f1"}'], ["Delivery", '{"flowId":"f1"}']]);
    expect(metaOf("0101-old")).toEqual([["Bounce", undefined]]);
    expect(metaOf("ses:0101-meta")).toEqual([["Bounce", undefined]]);
    expect(bodiesOn(queues.names.notification).find((b) => b.includes("0101-meta") && b.includes("Complaint"))).toContain(',"metadata":"{\\"flowId\\":\\"f1\\"}","complaint":');
  });

  test("without a notification queue, notifications are recorded and deleted, nothing forwarded", async () => {
    const queues = newQueues();
    await sendAll(queues.source, [snsBody(bounceNotification(["x@example.com"]))]);
    const { counts } = await run({ queues, notificationQueue: null });
    expect(counts.Bounce).toBe(1);
    expect(counts.forwardFailed).toBe(0);
    expect((await rows()).length).toBe(1);
    expect(sqs.depth(queues.names.source)).toBe(0);
  });

  test("a clock running ahead in a notification is capped at the time it was recorded", async () => {
    const queues = newQueues();
    const now = Date.now();
    await sendAll(queues.source, [snsBody(bounceNotification(["future@example.com"], { at: now + 365 * 86_400_000 }))]);
    await run({ queues, now: () => now });
    expect((await rows())[0]!.createdAt).toBe(now);
  });

  test("a progress line at the end (and every interval) with the counts", async () => {
    const queues = newQueues();
    await sendAll(queues.source, [snsBody(bounceNotification(["p@example.com"])), "garbage"]);
    const { captured } = await run({ queues });
    const last = captured.lines.at(-1)!;
    expect(last.msg).toStartWith("Notifications processed: Bounce=1 Complaint=0 Delivery=0 invalid=1 failed=0 forwardFailed=0 rate=");
    expect(last.fields).toMatchObject({ Bounce: 1, invalid: 1 });
  });
});

describe("the round trip with email-send", () => {
  test("send with metadata → bounce for its id → recorded, forwarded with the metadata → the next /send is refused", async () => {
    const queues = newQueues();
    const ses = recordingProvider("ses", "0101016805c8d1a7-roundtrip");
    const { app } = testApp(db.sql, { provider: ses, resolveProvider: () => ses });
    const send = () => postSend(app, JSON.stringify({ to: "Round Trip <RoundTrip@Example.com>", subject: "s", body: { text: "t" }, metadata: '{"flowId":"abc"}' }));
    const first = await send();
    expect(await first.json()).toEqual({ messageId: "ses:0101016805c8d1a7-roundtrip" });
    // SES reports the bounce with the id it returned (no "ses:" prefix).
    await sendAll(queues.source, [snsBody(bounceNotification(["roundtrip@example.com"], { messageId: "0101016805c8d1a7-roundtrip" }))]);
    const { counts } = await run({ queues, wrapOutgoing: true });
    expect(counts.Bounce).toBe(1);
    expect((await rows()).map((r) => [r.email, r.bounceType, r.bounceSubType])).toEqual([["roundtrip@example.com", 1, 2]]);
    const forwarded = JSON.parse(JSON.parse(bodiesOn(queues.names.notification)[0]!).Message);
    expect(forwarded.metadata).toBe('{"flowId":"abc"}');
    expect(forwarded.bounce.bouncedRecipients).toEqual(["roundtrip@example.com"]);
    const second = await send();
    expect(second.status).toBe(429);
    const refusal = await second.json();
    expect(refusal).toMatchObject({ code: 429, error: "Too Many Requests", errno: 108, message: "Hard-bounce limit violated", address: "roundtrip@example.com" });
    expect(ses.sent.length).toBe(1);
  });
});

describe("faults", () => {
  test("the database down while messages arrive: they stay on the queue, nothing is lost, processing resumes", async () => {
    const target = new URL(db.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const proxied = new URL(db.url);
    proxied.port = String(proxy.port);
    const sql = createSql(proxied.toString(), { max: 2, connectTimeout: 2 });
    const queues = newQueues({ VisibilityTimeout: "1" });
    const captured = captureLog("info");
    const controller = new AbortController();
    await proxy.refuse();
    // A 1 s long poll: with 0 the loop would spin and starve the in-process emulator's visibility timer.
    const running = run({ queues, sql, captured, signal: controller.signal, drain: false, waitTimeSeconds: 1 });
    const bodies = Array.from({ length: 20 }, (_, i) => snsBody(bounceNotification([`down${i}@example.com`])));
    await sendAll(queues.source, bodies);
    await waitFor(() => captured.messages().filter((m) => m === "Message left on the queue for redelivery").length >= 3, "failures while the database is down");
    expect(sqs.depth(queues.names.source)).toBe(20);
    expect(bodiesOn(queues.names.notification)).toEqual([]); // nothing forwarded before it was recorded
    await proxy.restore();
    await waitFor(() => sqs.depth(queues.names.source) === 0, "the queue to drain after recovery");
    controller.abort();
    const { counts, metrics } = await running;
    expect(counts.Bounce).toBe(20);
    expect(counts.failed).toBeGreaterThanOrEqual(3);
    expect(metrics.count("notification.failed")).toBe(counts.failed);
    expect((await rows()).map((r) => r.email).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `down${i}@example.com`).sort());
    expect(bodiesOn(queues.names.notification).length).toBe(20);
    await sql.end();
    await proxy.close();
  });

  test("the notification queue unreachable: recorded, source deleted, forward.failed counted and logged", async () => {
    const queues = newQueues();
    await sendAll(queues.source, [snsBody(bounceNotification(["a@example.com"])), snsBody(deliveryNotification(["b@example.com"]))]);
    // Nothing listens on this port: every send is refused.
    const nowhere = new SQSClient({ region: "us-east-1", endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "x", secretAccessKey: "x" }, maxAttempts: 1 });
    const { counts, metrics, captured } = await run({ queues, notificationQueue: sqsOutgoingQueue(nowhere, queues.notification, { attempts: 2 }) });
    expect(counts).toMatchObject({ Bounce: 1, Delivery: 1, forwardFailed: 2, failed: 0 });
    expect(metrics.count("forward.failed")).toBe(2);
    expect(captured.messages().filter((m) => m === "Error sending notification to queue").length).toBe(2);
    expect((await rows()).length).toBe(1);
    expect(sqs.depth(queues.names.source)).toBe(0);
    nowhere.destroy();
  });

  test("a notification queue that does not exist: the same, without retrying a refusal", async () => {
    const queues = newQueues();
    await sendAll(queues.source, [snsBody(bounceNotification(["a@example.com"]))]);
    const missing = queues.notification.replace(/notification-\d+$/, "no-such-queue");
    const { counts, metrics } = await run({ queues, notificationQueue: sqsOutgoingQueue(sqs.client, missing) });
    expect(counts.forwardFailed).toBe(1);
    expect(metrics.count("forward.failed")).toBe(1);
    expect(sqs.depth(queues.names.source)).toBe(0);
  });

  test("the dead-letter queue unreachable: the invalid message stays (never dropped unseen)", async () => {
    const queues = newQueues({ VisibilityTimeout: "60" });
    await sendAll(queues.source, ["not json"]);
    const missing = queues.dlq.replace(/dead-\d+$/, "no-such-dlq");
    const { counts, metrics } = await run({ queues, deadLetterQueue: sqsOutgoingQueue(sqs.client, missing) });
    expect(counts.failed).toBe(1);
    expect(counts.invalid).toBe(0);
    expect(metrics.count("dlq.failed")).toBe(1);
    expect(sqs.depth(queues.names.source)).toBe(1);
  });

  test("stopping mid-batch: every notification is recorded and deleted, or still on the queue", async () => {
    const queues = newQueues({ VisibilityTimeout: "60" });
    const total = 300;
    await sendAll(queues.source, Array.from({ length: total }, (_, i) => snsBody(bounceNotification([`stop${i}@example.com`]))));
    const controller = new AbortController();
    let parsed = 0;
    const captured = captureLog("info", (msg) => {
      if (msg === "Successfully parsed SQS message" && ++parsed === 25) controller.abort();
    });
    await run({ queues, captured, signal: controller.signal, drain: false, waitTimeSeconds: 1 });
    const recorded = new Set((await rows()).map((r) => r.email));
    const queue = sqs.server.inspectQueue(queues.names.source)!;
    const left = [...queue.messages.ready, ...queue.messages.inflight.map((m) => m.message)].map((m) => JSON.parse(JSON.parse(m.body).Message).bounce.bouncedRecipients[0].emailAddress as string);
    for (let i = 0; i < total; i++) expect(recorded.has(`stop${i}@example.com`) || left.includes(`stop${i}@example.com`)).toBe(true);
    expect(recorded.size).toBeGreaterThan(0);
    expect(left.length).toBeGreaterThan(0);
    // Every recorded one was forwarded; a deleted message was always recorded first.
    expect(bodiesOn(queues.names.notification).length).toBe(recorded.size);
    expect(recorded.size + left.length).toBe(total);
  });
});
