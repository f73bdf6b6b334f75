// The queue side of process-account-events, against the SQS emulator and real PostgreSQL: a mixed
// queue, a database outage mid-run, the compiled binary with --drain, and SIGTERM during a batch.
import { beforeEach, describe, expect, test } from "bun:test";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { createSql } from "../../src/db/client.ts";
import { processAccountEvents } from "../../src/tokenserver/account-events.ts";
import { createTokenserverRepository } from "../../src/tokenserver/repository.ts";
import { MAX_GENERATION } from "../../src/tokenserver/types.ts";
import { compiledTool } from "../support/compiled.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { startTestSqs } from "../support/sqs.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { createTokenserverTestDb } from "../support/tokenserver.ts";
import { waitFor } from "../support/wait.ts";
import { readUntil } from "../support/process.ts";

const db = await createTokenserverTestDb();
const sqs = await startTestSqs();
let queueCounter = 0;

beforeEach(() => db.reset());

const event = (e: Record<string, unknown>) => JSON.stringify({ Message: JSON.stringify(e) });
const snsEvent = (e: Record<string, unknown>) =>
  JSON.stringify({
    Type: "Notification",
    MessageId: crypto.randomUUID(),
    TopicArn: "arn:aws:sns:us-east-1:000000000000:fxa-account-events",
    Message: JSON.stringify(e),
    Timestamp: new Date().toISOString(),
    SignatureVersion: "1",
  });

async function sendAll(url: string, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map((b, j) => ({ Id: String(j), MessageBody: b })) }));
  }
}

/** A queue holding valid, unknown, malformed and SNS-enveloped messages for users 0..9. */
async function seedMixedQueue(attributes?: Record<string, string>) {
  const name = `account-events-${++queueCounter}`;
  const url = sqs.createQueue(name, attributes);
  for (let i = 0; i < 10; i++) await db.repo.allocateUser(`u${i}@example.com`, { generation: 100n });
  await sendAll(url, [
    event({ event: "delete", uid: "u0", iss: "example.com" }),
    snsEvent({ event: "delete", uid: "u1", iss: "example.com" }),
    event({ event: "reset", uid: "u2", iss: "example.com", generation: 500 }),
    snsEvent({ event: "passwordChange", uid: "u3@example.com", generation: 700 }),
    event({ event: "verified", uid: "u4", iss: "example.com" }),
    snsEvent({ event: "primaryEmailChanged", uid: "u5", iss: "example.com" }),
    "wat",
    "[1,2]",
    JSON.stringify({ Message: { event: "delete", uid: "u6@example.com" } }),
    event({ event: "reset", uid: "u7", iss: "example.com", generation: "43" }),
    event({ event: "delete", uid: "u8" }),
  ]);
  return { name, url };
}

async function expectMixedQueueApplied() {
  const rows = await db.sql`select email, generation, replaced_at is null as active from users order by email`;
  const byEmail = Object.fromEntries(rows.map((r) => [r.email, { generation: r.generation, active: r.active }]));
  expect(byEmail["u0@example.com"]).toEqual({ generation: MAX_GENERATION, active: false });
  expect(byEmail["u1@example.com"]).toEqual({ generation: MAX_GENERATION, active: false });
  expect(byEmail["u2@example.com"]).toEqual({ generation: 499n, active: true });
  expect(byEmail["u3@example.com"]).toEqual({ generation: 699n, active: true });
  for (const i of [4, 5, 6, 7, 8, 9]) expect(byEmail[`u${i}@example.com`]).toEqual({ generation: 100n, active: true });
}

describe("processAccountEvents", () => {
  test("a mixed queue: valid events applied, unknown and malformed counted and deleted, queue empty", async () => {
    const { name, url } = await seedMixedQueue();
    const captured = captureLog("info");
    const metrics = recordingMetrics();
    const counts = await processAccountEvents(
      { sqs: sqs.client, repo: db.repo, metrics, log: captured.log },
      { queueUrl: url, waitTimeSeconds: 0, concurrency: 4, drain: true, signal: new AbortController().signal },
    );
    expect(counts).toEqual({ delete: 2, reset: 1, passwordChange: 1, unknown: 2, invalid: 5, failed: 0 });
    await expectMixedQueueApplied();
    expect(sqs.depth(name)).toBe(0);
    expect(metrics.count("invalid")).toBe(5);
    expect(metrics.count("unknown")).toBe(2);
    const summary = captured.lines.at(-1)!;
    expect(summary.msg).toStartWith("Account events processed: delete=2 reset=1 passwordChange=1 unknown=2 invalid=5 failed=0 rate=");
    expect(summary.fields).toMatchObject({ delete: 2, invalid: 5 });
  });

  test("a progress line every interval with the rate since the last line", async () => {
    const { url } = await seedMixedQueue();
    const captured = captureLog("info");
    let clock = 0;
    const controller = new AbortController();
    const run = processAccountEvents(
      { sqs: sqs.client, repo: db.repo, metrics: recordingMetrics(), log: captured.log, now: () => clock },
      { queueUrl: url, waitTimeSeconds: 1, concurrency: 4, drain: false, signal: controller.signal, statsIntervalMs: 20 },
    );
    await waitFor(() => sqs.depth(`account-events-${queueCounter}`) === 0, "queue to empty");
    clock = 2_000; // 11 events over 2 s of the injected clock
    await waitFor(() => captured.messages().some((m) => m.includes("rate=5.5/s")), "a progress line");
    controller.abort();
    await run;
  });

  test("database outage mid-run: messages stay on the queue, nothing is lost, processing resumes", async () => {
    const target = new URL(db.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const proxiedUrl = new URL(db.url);
    proxiedUrl.port = String(proxy.port);
    const sql = createSql(proxiedUrl.toString(), { max: 4, connectTimeout: 2 });
    const repo = createTokenserverRepository(sql);
    const name = `account-events-${++queueCounter}`;
    const url = sqs.createQueue(name, { VisibilityTimeout: "1" });
    for (let i = 0; i < 20; i++) await db.repo.allocateUser(`o${i}@example.com`, { generation: 10n });
    const captured = captureLog("info");
    const controller = new AbortController();
    await proxy.refuse();
    const run = processAccountEvents(
      { sqs: sqs.client, repo, metrics: recordingMetrics(), log: captured.log },
      { queueUrl: url, waitTimeSeconds: 1, concurrency: 4, drain: false, signal: controller.signal, backoff: { baseMs: 10, capMs: 100 } },
    );
    await sendAll(url, Array.from({ length: 20 }, (_, i) => event({ event: "delete", uid: `o${i}`, iss: "example.com" })));
    await waitFor(() => captured.messages().filter((m) => m === "Message left on the queue for redelivery").length >= 3, "failures while the database is down");
    expect(sqs.depth(name)).toBe(20); // nothing was deleted while the database refused connections
    await proxy.restore();
    await waitFor(async () => sqs.depth(name) === 0, "the queue to drain after recovery");
    controller.abort();
    const counts = await run;
    expect(counts.delete).toBe(20);
    expect(counts.failed).toBeGreaterThanOrEqual(3);
    const [{ retired }] = await db.sql<[{ retired: number }]>`select count(*)::int as retired from users where generation = ${MAX_GENERATION}`;
    expect(retired).toBe(20);
    await sql.end();
    await proxy.close();
  });
});

describe("the compiled binary", () => {
  const tool = compiledTool("process-account-events");
  const env = () => ({ ...process.env, ...sqs.env, SYNC_TOKENSERVER__DATABASE_URL: db.url, NO_COLOR: "1" });

  test("--drain applies a mixed queue, empties it and exits 0", async () => {
    const { name } = await seedMixedQueue();
    const child = Bun.spawn([tool, "--drain", "--queue-wait-time", "1", "-v", name], { env: env(), stderr: "pipe", stdout: "pipe" });
    const code = await child.exited;
    const stderr = await new Response(child.stderr).text();
    expect(code).toBe(0);
    await expectMixedQueueApplied();
    expect(sqs.depth(name)).toBe(0);
    const lines = stderr.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0].Fields.msg).toBe("Starting up..");
    expect(lines.some((l) => l.Fields.msg === `Processing account events from ${name}`)).toBe(true);
    expect(lines.at(-1).Fields.msg).toContain("invalid=5");
  });

  test("SIGTERM while a statement waits on a row lock: exit 0 within the 30 s bound, the event stays queued and the next run applies it", async () => {
    const name = `account-events-${++queueCounter}`;
    // A short visibility timeout, so the message that was left comes back for the next run quickly.
    const url = sqs.createQueue(name, { VisibilityTimeout: "1" });
    const user = await db.repo.allocateUser("locked@example.com", { generation: 10n });
    const holder = await db.sql.reserve();
    await holder`begin`;
    await holder`select uid from users where uid = ${user.uid} for update`; // another session holds the row
    await sendAll(url, [event({ event: "delete", uid: "locked", iss: "example.com" })]);
    const child = Bun.spawn([tool, "--queue-wait-time", "1", "-v", name], { env: env(), stderr: "pipe", stdout: "pipe" });
    try {
      // The handler's UPDATE is now waiting for the lock.
      await waitFor(async () => {
        const [row] = await db.sql<[{ waiting: number }]>`
          select count(*)::int as waiting from pg_stat_activity
          where datname = current_database() and application_name = 'process-account-events' and wait_event_type = 'Lock'`;
        return row.waiting > 0;
      }, "the handler to block on the row lock");
      const signalledAt = performance.now();
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(performance.now() - signalledAt).toBeLessThan(30_000);
      const stderr = await new Response(child.stderr).text();
      expect(stderr).toContain("Message left on the queue for redelivery");
      expect(sqs.depth(name)).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await holder`rollback`;
      holder.release();
    }
    const next = Bun.spawn([tool, "--drain", "--queue-wait-time", "2", name], { env: env(), stderr: "pipe", stdout: "pipe" });
    expect(await next.exited).toBe(0);
    const [row] = await db.sql<[{ generation: bigint }]>`select generation from users where uid = ${user.uid}`;
    expect(row.generation).toBe(MAX_GENERATION);
    expect(sqs.depth(name)).toBe(0);
  }, 60_000);

  test("SIGTERM during a batch finishes in-flight events, loses nothing and exits 0", async () => {
    const name = `account-events-${++queueCounter}`;
    const url = sqs.createQueue(name, { VisibilityTimeout: "60" });
    const total = 2_000;
    await db.sql`insert into users (service, email, nodeid, generation, client_state, created_at)
      select ${await db.repo.serviceId()}, 's' || g || '@example.com', ${await db.repo.getNodeId("https://phx12")}, 10, '', 1
      from generate_series(0, ${total - 1}) g`;
    await sendAll(url, Array.from({ length: total }, (_, i) => event({ event: "delete", uid: `s${i}`, iss: "example.com" })));
    const child = Bun.spawn([tool, "--queue-wait-time", "20", "-v", name], { env: env(), stderr: "pipe", stdout: "pipe" });
    await readUntil(child.stderr, "Processing account delete");
    const signalledAt = performance.now();
    child.kill("SIGTERM");
    const code = await child.exited;
    expect(code).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(25_000); // --queue-wait-time + 5 s
    const retired = new Set((await db.sql`select email from users where generation = ${MAX_GENERATION}`).map((r) => r.email as string));
    const queue = sqs.server.inspectQueue(name)!;
    const remaining = [...queue.messages.ready, ...queue.messages.inflight.map((m) => m.message)].map(
      (m) => `${JSON.parse(JSON.parse(m.body).Message).uid}@example.com`,
    );
    // Every event was either applied or is still on the queue.
    for (let i = 0; i < total; i++) {
      const email = `s${i}@example.com`;
      expect(retired.has(email) || remaining.includes(email)).toBe(true);
    }
    // And no message was deleted without its event being applied.
    expect(retired.size + remaining.length).toBeGreaterThanOrEqual(total);
    // The signal really arrived mid-run: some events were applied, others are still queued.
    expect(retired.size).toBeGreaterThan(0);
    expect(remaining.length).toBeGreaterThan(0);
  });
});
