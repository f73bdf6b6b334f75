// Scale-out, shown: three instances each of process-account-events, email-queues and the event broker's
// delivery workers, each its own OS process (run from source), sharing one SQS queue (fauxqs) and one
// PostgreSQL database. Every message is handled and every delivery made, each exactly once, and every
// instance did part of the work.
//
// What at-least-once would allow, and why exactly once is expected here:
// - an SQS message is handled a second time only when its visibility timeout runs out before the
//   instance that received it deletes it (a handler slower than the timeout, a crash, a failed
//   DeleteMessageBatch). The queues here hide a received message for 120 s, far longer than the test,
//   and nothing crashes: each message is handled by one instance, once.
// - an outbox row is POSTed a second time only when its lease (2 × --delivery-timeout + 5 s) runs out
//   before its worker records the answer (a worker killed, a call outliving its timeout). Here the
//   timeout is 30 s and nothing is killed: each row is POSTed once, with one attempt recorded.
// So any duplicate below is a bug, not at-least-once.
//
// The spread is made certain rather than hoped for: while the test holds back what the handlers need
// (a table lock; the relying party's answers), no instance can finish anything, so none can take more
// than its bounded share (--concurrency + one batch of 10 messages in hand; --delivery-concurrency calls
// in flight) and the rest waits for the others. The test lets go only once every instance is seen
// working on its share: its log says so, or the relying party holds as many calls as all three together
// are allowed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { BROKER_SCHEMA } from "../../src/broker/migrations/index.ts";
import { insertDeliveries, upsertClient, type NewDelivery } from "../../src/broker/queries.ts";
import type { Sql } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../../src/email/migrations/index.ts";
import { TOKENSERVER_SCHEMA } from "../../src/tokenserver/migrations/index.ts";
import { createTokenserverRepository } from "../../src/tokenserver/repository.ts";
import { MAX_GENERATION } from "../../src/tokenserver/types.ts";
import { keys, verifySet } from "../support/broker.ts";
import { bounceNotification, complaintNotification, snsBody } from "../support/email-queues.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startRelyingParty } from "../support/relying-party.ts";
import { startTestSqs } from "../support/sqs.ts";
import { startInstances, stopInstances, type ToolInstance } from "../support/tool-instances.ts";
import { waitFor } from "../support/wait.ts";

const INSTANCES = 3;
/** Per instance; with one batch of 10 this bounds what one instance holds while the others start. */
const CONCURRENCY = 4;
const MESSAGES = 120;

const db = await createTestDatabase();
const sqs = await startTestSqs();
const running: ToolInstance[] = [];
afterAll(() => running.forEach((i) => i.child.kill()));

beforeAll(async () => {
  await migrate(db.sql, TOKENSERVER_SCHEMA.domain, TOKENSERVER_SCHEMA.migrations);
  await migrate(db.sql, EMAIL_DOMAIN, EMAIL_MIGRATIONS);
  await migrate(db.sql, BROKER_SCHEMA.domain, BROKER_SCHEMA.migrations);
});

function start(tool: string, args: string[], env: Record<string, string>): ToolInstance[] {
  const instances = startInstances(tool, INSTANCES, { args, env: () => env });
  running.push(...instances);
  return instances;
}

/** Holds `lock table <table> in exclusive mode` (writes wait, reads go on) until the returned function is called. */
async function holdTableLock(sql: Sql, table: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const transaction = sql.begin(async (tx) => {
    await tx.unsafe(`lock table ${table} in exclusive mode`);
    locked();
    await released;
  });
  await Promise.race([isLocked, transaction]);
  return async () => {
    release();
    await transaction;
  };
}

/** Sends the bodies in batches of 10; returns the SQS message ids, in order. */
async function sendAll(queueUrl: string, bodies: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    const result = await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((b, j) => ({ Id: String(j), MessageBody: b })) }));
    expect(result.Failed ?? []).toEqual([]);
    ids.push(...[...result.Successful!].sort((a, b) => Number(a.Id) - Number(b.Id)).map((s) => s.MessageId!));
  }
  return ids;
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe(`${INSTANCES} instances on one queue / one database`, () => {
  test("process-account-events: every event applied by exactly one instance, each instance applied some", async () => {
    const repo = createTokenserverRepository(db.sql);
    await repo.addNode("https://phx12", 10_000);
    const emails = Array.from({ length: MESSAGES }, (_, i) => `u${i}@example.com`);
    for (const email of emails) await repo.allocateUser(email, { generation: 100n });
    const queueUrl = sqs.createQueue("account-events", { VisibilityTimeout: "120" });
    const instances = start(
      "process-account-events",
      ["--queue-wait-time", "2", "--concurrency", String(CONCURRENCY), "--statement-timeout", "0", "-v", queueUrl],
      { ...sqs.env, SYNC_TOKENSERVER__DATABASE_URL: db.url },
    );
    await Promise.all(instances.map((i) => i.waitForLog("Processing account events from")));

    // Even events delete the account, odd ones change its password (generation 500 + i → stored 499 + i).
    const release = await holdTableLock(db.sql, "users");
    const event = (i: number) => (i % 2 === 0 ? { event: "delete", uid: `u${i}`, iss: "example.com" } : { event: "passwordChange", uid: `u${i}`, iss: "example.com", generation: 500 + i });
    await sendAll(queueUrl, emails.map((_, i) => JSON.stringify({ Message: JSON.stringify(event(i)) })));
    const applying = /^Processing (?:account delete|password change) for '(.+)'$/;
    await waitFor(() => instances.every((i) => i.logged(applying).length > 0), "every instance to start on events", 30_000);
    expect(sqs.depth("account-events")).toBe(MESSAGES); // nothing finished while the lock was held
    await release();

    await waitFor(() => sqs.depth("account-events") === 0, "the queue to empty", 30_000);
    expect(await stopInstances(instances)).toEqual([0, 0, 0]);

    const perInstance = instances.map((i) => i.logged(applying).map((l) => applying.exec(l.msg)![1]!));
    for (const handled of perInstance) expect(handled.length).toBeGreaterThan(0);
    expect(sorted(perInstance.flat())).toEqual(sorted(emails)); // each event once, none twice
    for (const instance of instances) {
      expect(instance.logged(/left on the queue/)).toEqual([]);
      const last = instance.logged(/^Account events processed:/).at(-1)!;
      expect(last.fields.failed).toBe(0);
    }
    const totals = instances.map((i) => i.logged(/^Account events processed:/).at(-1)!.fields);
    expect(totals.reduce((n, f) => n + Number(f.delete), 0)).toBe(MESSAGES / 2);
    expect(totals.reduce((n, f) => n + Number(f.passwordChange), 0)).toBe(MESSAGES / 2);

    const rows = await db.sql<{ email: string; generation: bigint }[]>`select email, generation from users`;
    expect(rows.length).toBe(MESSAGES);
    for (const row of rows) {
      const i = Number(row.email.slice(1, row.email.indexOf("@")));
      expect(row.generation).toBe(i % 2 === 0 ? MAX_GENERATION : BigInt(499 + i));
    }
    console.log(`process-account-events: events per instance ${perInstance.map((h) => h.length).join(" / ")}`);
  }, 120_000);

  test("email-queues: every notification recorded and forwarded by exactly one instance, each instance handled some", async () => {
    const source = sqs.createQueue("ses-bounces", { VisibilityTimeout: "120" });
    const notifications = sqs.createQueue("email-notifications");
    const instances = start("email-queues", ["--queue-wait-time", "2", "--concurrency", String(CONCURRENCY), "--statement-timeout", "0", "-v"], {
      ...sqs.env,
      DATABASE_URL: db.url,
      FXA_EMAIL_HMACKEY: "scale-out hmac key",
      FXA_EMAIL_AWS_SQSURLS_BOUNCE: source,
      FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: notifications,
    });
    await Promise.all(instances.map((i) => i.waitForLog("Processing notifications")));

    const release = await holdTableLock(db.sql, "email_bounces");
    const recipients = Array.from({ length: MESSAGES }, (_, i) => `r${i}@example.com`);
    const bodies = recipients.map((r, i) => snsBody(i % 3 === 0 ? complaintNotification([r]) : bounceNotification([r])));
    const sent = await sendAll(source, bodies);
    await waitFor(() => instances.every((i) => i.logged("Successfully parsed SQS message").length > 0), "every instance to start on notifications", 30_000);
    expect(sqs.depth("ses-bounces")).toBe(MESSAGES);
    expect(sqs.depth("email-notifications")).toBe(0);
    await release();

    await waitFor(() => sqs.depth("ses-bounces") === 0, "the source queue to empty", 30_000);
    expect(await stopInstances(instances)).toEqual([0, 0, 0]);

    const perInstance = instances.map((i) => i.logged("Successfully parsed SQS message").map((l) => String(l.fields.messageId)));
    for (const handled of perInstance) expect(handled.length).toBeGreaterThan(0);
    expect(sorted(perInstance.flat())).toEqual(sorted(sent));
    for (const instance of instances) {
      expect(instance.logged("Notification already recorded")).toEqual([]); // no message came back
      expect(instance.logged(/left on the queue/)).toEqual([]);
      expect(instance.logged("Sent message to notification queue").length).toBe(instance.logged("Successfully parsed SQS message").length);
    }
    const rows = await db.sql<{ email: string }[]>`select email from email_bounces`;
    expect(sorted(rows.map((r) => r.email))).toEqual(sorted(recipients));
    expect(sqs.depth("email-notifications")).toBe(MESSAGES); // one forwarded notification each
    console.log(`email-queues: notifications per instance ${perInstance.map((h) => h.length).join(" / ")}`);
  }, 120_000);

  test("event-broker delivery workers: every outbox row POSTed exactly once, by all three instances", async () => {
    const rp = await startRelyingParty();
    const clientId = "5ca1e0075ca1e007";
    await upsertClient(db.sql, { client_id: clientId, webhook_url: rp.url, is_resource_server: false, delivery_format: "bearer" }, new Date());
    const instances = start(
      "event-broker",
      ["serve", "--disable-queue-worker", "--disable-http", "--allow-insecure-webhooks", "--delivery-concurrency", String(CONCURRENCY), "--delivery-timeout", "30", "-v"],
      { DATABASE_URL: db.url, OPENID_ISSUER: keys().issuer, OPENID_KEY: JSON.stringify(keys().privateJwk) },
    );
    await Promise.all(instances.map((i) => i.waitForLog("Event broker server started")));

    let answer!: () => void;
    rp.gate = new Promise<void>((resolve) => (answer = resolve));
    const rows: NewDelivery[] = Array.from({ length: MESSAGES }, (_, i) => {
      const uid = i.toString(16).padStart(32, "0");
      return { client_id: clientId, uid, event: "delete", payload: { event: "delete", uid, timestamp: Date.now() }, jti: crypto.randomUUID(), source_message_id: null };
    });
    await insertDeliveries(db.sql, rows, new Date());
    // One instance has at most CONCURRENCY calls in flight: this many held at once means all three deliver.
    await rp.waitForCalls(INSTANCES * CONCURRENCY, 30_000);
    const [held] = await db.sql<{ n: bigint }[]>`select count(*) as n from broker_deliveries where status <> 'pending'`;
    expect(held!.n).toBe(0n);
    rp.gate = null;
    answer();

    const finished = async () => (await db.sql<{ n: bigint }[]>`select count(*) as n from broker_deliveries where status = 'delivered'`)[0]!.n === BigInt(MESSAGES);
    await waitFor(finished, "every delivery recorded", 30_000);
    expect(await stopInstances(instances)).toEqual([0, 0, 0]);

    const counts = instances.map((i) => i.logged("Delivery workers stopped").at(-1)!.fields as { delivered: number; failed: number });
    for (const c of counts) {
      expect(c.delivered).toBeGreaterThan(0);
      expect(c.failed).toBe(0);
    }
    expect(counts.reduce((n, c) => n + c.delivered, 0)).toBe(MESSAGES);
    expect(rp.calls.length).toBe(MESSAGES);
    const jtis = await Promise.all(rp.calls.map(async (call) => String((await verifySet(call.authorization!.replace(/^Bearer /, ""))).payload.jti)));
    expect(sorted(jtis)).toEqual(sorted(rows.map((r) => r.jti)));
    const [attempts] = await db.sql<{ n: bigint; most: number }[]>`select count(*) as n, max(attempts) as most from broker_attempts a join broker_deliveries d on d.id = a.delivery_id`;
    expect(attempts!.n).toBe(BigInt(MESSAGES));
    expect(attempts!.most).toBe(1);
    console.log(`event-broker: deliveries per instance ${counts.map((c) => c.delivered).join(" / ")}`);
  }, 120_000);
});
