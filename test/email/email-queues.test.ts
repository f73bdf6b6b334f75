// The compiled email-queues binary end to end, with PostgreSQL and the SQS emulator: --help without any
// configuration, usage errors (exit 2), the schema check and `migrate`, a --drain run over every vector
// (rows, forwarded bytes, dead-lettered copies, empty queue), SIGTERM in the middle of a batch (exit 0,
// nothing lost), and `serve` answering a webhook and its heartbeat, then stopping on SIGTERM.
import { describe, expect, test } from "bun:test";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { compiledTool } from "../support/compiled.ts";
import { bounceNotification, sesVectors, snsBody } from "../support/email-queues.ts";
import { createEmailTestDb } from "../support/email.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startTestSqs } from "../support/sqs.ts";
import { waitFor } from "../support/wait.ts";
import { readUntil } from "../support/process.ts";

const tool = compiledTool("email-queues");
const db = await createEmailTestDb();
const sqs = await startTestSqs();

const baseEnv = (databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  NO_COLOR: "1",
  DATABASE_URL: databaseUrl,
  FXA_EMAIL_HMACKEY: "e2e hmac key",
  ...sqs.env,
  ...extra,
});

async function sendAll(url: string, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map((b, j) => ({ Id: String(j), MessageBody: b })) }));
  }
}

const bodiesOn = (name: string) => sqs.server.inspectQueue(name)!.messages.ready.map((m) => m.body);
const stderrLines = (text: string) => text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { Fields: Record<string, any>; Severity: number });

async function runToEnd(args: string[], env: Record<string, string>) {
  const child = Bun.spawn([tool, ...args], { env, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

describe("the compiled email-queues binary", () => {
  test("--help (and serve --help) need no configuration, database or network", async () => {
    for (const args of [["--help"], ["serve", "--help"], ["migrate", "--help"]]) {
      const { code, stdout } = await runToEnd(args, { PATH: "/usr/bin:/bin", NO_COLOR: "1" });
      expect(code).toBe(0);
      expect(stdout).toContain("USAGE");
    }
    expect((await runToEnd(["--help"], { PATH: "/usr/bin:/bin" })).stdout).toContain("--dead-letter-queue");
  });

  test("configuration errors exit 2 naming the variable or flag", async () => {
    const none = await runToEnd([], baseEnv(db.url));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("at least one source queue must be set");
    const bad = await runToEnd([], baseEnv(db.url, { FXA_EMAIL_AWS_SQSURLS_BOUNCE: "https://example.com/q", AWS_ENDPOINT_URL_SQS: "" }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("FXA_EMAIL_AWS_SQSURLS_BOUNCE: invalid SQS queue URL");
    const flag = await runToEnd(["--concurrency", "0"], baseEnv(db.url, { FXA_EMAIL_AWS_SQSURLS_BOUNCE: sqs.createQueue("e2e-config") }));
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--concurrency: must be at least 1");
    const serve = await runToEnd(["serve"], baseEnv(db.url));
    expect(serve.code).toBe(2);
    expect(serve.stderr).toContain("FXA_EMAIL_EVENTS_SENDGRID_AUTH");
  });

  test("without the schema (or with email-send's first migration only) it refuses to start (exit 1); `migrate` applies it", async () => {
    const empty = await createTestDatabase({ max: 1 });
    const env = baseEnv(empty.url, { FXA_EMAIL_AWS_SQSURLS_BOUNCE: sqs.createQueue("e2e-schema") });
    const refused = await runToEnd(["--drain"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("email schema not found");
    await empty.sql.unsafe(`create table email_bounces (id bigserial primary key, email varchar(255), bounce_type smallint, bounce_sub_type smallint, created_at bigint);
      create table email_message_data (key char(64) primary key, data text, created_at bigint, expires_at bigint)`);
    const outdated = await runToEnd(["--drain"], env);
    expect(outdated.code).toBe(1);
    expect(outdated.stderr).toContain("email_bounces.feedback_key is missing (run `email-queues migrate`");
    await empty.sql.unsafe("drop table email_bounces, email_message_data");
    const migrate = await runToEnd(["migrate"], env);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toBe("email applied: 1_bounces_and_message_data, 2_bounce_feedback_key, 3_callers_and_send_counters, 4_send_counters_unlogged\n");
    expect((await runToEnd(["--drain", "--queue-wait-time", "0"], env)).code).toBe(0);
  });

  test("--drain: every vector from one queue, recorded, forwarded (wrapped), dead-lettered, deleted; exit 0", async () => {
    await db.reset();
    const source = sqs.createQueue("e2e-drain");
    sqs.createQueue("e2e-drain-notification");
    sqs.createQueue("e2e-drain-dead");
    const vectors = sesVectors();
    await sendAll(source, vectors.map((v) => v.message.Body!));
    const env = baseEnv(db.url, {
      FXA_EMAIL_AWS_SQSURLS_BOUNCE: source,
      FXA_EMAIL_AWS_SQSURLS_COMPLAINT: source,
      FXA_EMAIL_AWS_SQSURLS_DELIVERY: source,
      FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: source.replace("e2e-drain", "e2e-drain-notification"),
    });
    const { code, stderr } = await runToEnd(["--drain", "--queue-wait-time", "1", "--wrap-outgoing", "--dead-letter-queue", source.replace("e2e-drain", "e2e-drain-dead"), "-v"], env);
    expect(code).toBe(0);
    expect(sqs.depth("e2e-drain")).toBe(0);
    const ok = vectors.filter((v) => v.expected.parse === "ok");
    const failed = vectors.filter((v) => v.expected.parse === "error");
    expect(bodiesOn("e2e-drain-notification").map((b) => JSON.parse(b).Message).sort()).toEqual(ok.map((v) => v.expected.forwardedBodyExact!).sort());
    expect(bodiesOn("e2e-drain-dead").sort()).toEqual(failed.map((v) => v.message.Body!).sort());
    const rows = await db.sql`select email, bounce_type, bounce_sub_type from email_bounces`;
    const expectedRows = vectors.flatMap((v) => v.expected.dbWrites).map((w) => `${w.email} ${w.bounceType} ${w.bounceSubType}`);
    expect(rows.map((r) => `${r.email} ${r.bounce_type} ${r.bounce_sub_type}`).sort()).toEqual(expectedRows.sort());
    const lines = stderrLines(stderr);
    expect(lines[0]!.Fields.msg).toBe("Settings::new");
    expect(JSON.stringify(lines)).not.toContain("e2e hmac key");
    expect(lines.filter((l) => l.Fields.msg === "Error receiving from queue").map((l) => l.Fields.reason).sort()).toEqual(failed.map((v) => v.expected.error!.message).sort());
    expect(lines.at(-1)!.Fields.msg).toStartWith(`Notifications processed: Bounce=3 Complaint=2 Delivery=2 invalid=2 failed=0 forwardFailed=0`);
  });

  test("SIGTERM in the middle of a batch: in-flight notifications finish, nothing is lost, exit 0", async () => {
    await db.reset();
    const source = sqs.createQueue("e2e-sigterm", { VisibilityTimeout: "120" });
    const notification = sqs.createQueue("e2e-sigterm-notification");
    const total = 2_000;
    await sendAll(source, Array.from({ length: total }, (_, i) => snsBody(bounceNotification([`s${i}@example.com`]))));
    const child = Bun.spawn([tool, "--queue-wait-time", "20", "-v"], {
      env: baseEnv(db.url, { FXA_EMAIL_AWS_SQSURLS_BOUNCE: source, FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: notification }),
      stdout: "pipe",
      stderr: "pipe",
    });
    await readUntil(child.stderr, "Sent message to notification queue");
    const signalledAt = performance.now();
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(25_000); // --queue-wait-time + 5 s
    const recorded = new Set((await db.sql`select email from email_bounces`).map((r) => r.email as string));
    const queue = sqs.server.inspectQueue("e2e-sigterm")!;
    const left = new Set([...queue.messages.ready, ...queue.messages.inflight.map((m) => m.message)].map((m) => JSON.parse(JSON.parse(m.body).Message).bounce.bouncedRecipients[0].emailAddress as string));
    for (let i = 0; i < total; i++) expect(recorded.has(`s${i}@example.com`) || left.has(`s${i}@example.com`)).toBe(true);
    expect(recorded.size).toBeGreaterThan(0);
    expect(left.size).toBeGreaterThan(0);
    // No message was deleted without its notification recorded and forwarded first.
    expect(recorded.size + left.size).toBeGreaterThanOrEqual(total);
    expect(sqs.depth("e2e-sigterm-notification")).toBeGreaterThanOrEqual(recorded.size);
  });

  test("serve: a Sendgrid webhook recorded and forwarded, the heartbeat, SIGTERM → exit 0", async () => {
    await db.reset();
    const notification = sqs.createQueue("e2e-serve-notification");
    const child = Bun.spawn([tool, "serve", "--port", "0", "--host", "127.0.0.1"], {
      env: baseEnv(db.url, { FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: notification, FXA_EMAIL_EVENTS_SENDGRID_AUTH: "e2e-sendgrid-secret", FXA_EMAIL_LOG_LEVEL: "normal" }),
      stdout: "pipe",
      stderr: "pipe",
    });
    const lines: { Fields: Record<string, any> }[] = [];
    const reader = (child.stderr as ReadableStream<Uint8Array>).getReader();
    let buffered = "";
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += new TextDecoder().decode(value);
        let newline: number;
        while ((newline = buffered.indexOf("\n")) !== -1) {
          lines.push(JSON.parse(buffered.slice(0, newline)));
          buffered = buffered.slice(newline + 1);
        }
      }
    })();
    try {
      await waitFor(() => lines.some((l) => l.Fields.msg === "Listening"), "the server to listen");
      const port = lines.find((l) => l.Fields.msg === "Listening")!.Fields.port as number;
      const event = { email: "Hook@Example.com", timestamp: 1546300800, sg_message_id: "sg-1.filter0", sg_event_id: "sg-e2e-1", event: "bounce", status: "5.1.1" };
      const response = await fetch(`http://127.0.0.1:${port}/events/sendgrid?auth=e2e-sendgrid-secret`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([event]) });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ result: "Processed 1 events" });
      const denied = await fetch(`http://127.0.0.1:${port}/events/sendgrid?auth=wrong`, { method: "POST", body: "[]" });
      expect(denied.status).toBe(401);
      expect((await db.sql`select email, bounce_type, bounce_sub_type from email_bounces`).map((r) => [r.email, r.bounce_type, r.bounce_sub_type])).toEqual([["hook@example.com", 1, 3]]);
      expect(JSON.parse(bodiesOn("e2e-serve-notification")[0]!).mail.messageId).toBe("sg-1");
      const heartbeat = await fetch(`http://127.0.0.1:${port}/__heartbeat__`);
      expect(heartbeat.status).toBe(200);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      await pump;
      expect(lines.at(-1)!.Fields.msg).toBe("Stopped");
      expect(JSON.stringify(lines)).not.toContain("e2e-sendgrid-secret");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
