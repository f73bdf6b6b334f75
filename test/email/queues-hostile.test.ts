// Hostile input for email-queues: thousands of generated malformed or hostile SQS messages (bodies,
// envelopes, notifications, addresses) through the real consumer, SQS emulator and PostgreSQL, and
// hundreds of webhook bodies through the HTTP endpoints. Every one is refused as the policy says
// (logged, counted, copied verbatim to the dead-letter queue, deleted; a 400 or 401 for webhooks),
// none crashes anything, none writes a row or forwards a notification.
import { beforeEach, describe, expect, test } from "bun:test";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { createEventsApp } from "../../src/email/queues/events-api.ts";
import { sqsOutgoingQueue } from "../../src/email/queues/outgoing-queue.ts";
import { runEmailQueues } from "../../src/email/queues/run-queues.ts";
import { decodeSqsMessage } from "../../src/email/queues/sqs-message.ts";
import { bounceNotification, complaintNotification, deliveryNotification, snsBody } from "../support/email-queues.ts";
import { createEmailTestDb, HMAC_KEY, TEST_VERSION } from "../support/email.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { startTestSqs } from "../support/sqs.ts";

const db = await createEmailTestDb();
const sqs = await startTestSqs();
beforeEach(() => db.reset());

type Json = Record<string, any>;
const clone = <T>(v: T): T => structuredClone(v);

// Addresses the original's rule refuses: the §12.14 list, injection attempts, look-alikes and extremes.
const BAD_ADDRESSES = [
  "", " ", "foo", "foo@", "@example.com", "foo@example", "foo@@example.com", "foo@exa mple.com", "foo @example.com",
  "<foo@example.com", "Foo Bar >baz@example.com<", "a’b@example.com", `${"x".repeat(65)}@example.com`, `a@${"b".repeat(250)}.com`,
  "foo@example.com\r\nBcc: evil@example.com", "foo@example.com\nX-Injected: 1", "foo\u0000@example.com", "foo@exam\u0000ple.com",
  "foo@example.com,bar@example.com", "foo@example.com bar@example.com", "foo@-example.com", "foo@example-.com", "foo@example..com",
  "foo@.example.com", "foo@example.com.", "foo(comment)@example.com", '"quoted"@example.com', "foo@[127.0.0.1]", "foo@例え.jp",
  "robert');DROP TABLE email_bounces;--@example.com", "\u202efoo@example.com", "<>", "< >", "<<foo@example.com>>x", "foo@example.c\u00f6m",
];

// Values of the wrong type for a string, a list, a timestamp and a struct.
const NOT_STRING = [null, 5, -1.5, true, false, [], ["x"], {}, { a: 1 }];
const NOT_LIST = [null, 5, true, "x", {}, { 0: "a@example.com" }];
const NOT_OPTIONAL_STRING = [5, true, [], {}, 0];
const BAD_TIMESTAMPS = [
  null, 0, 1546300800, "", " ", "yesterday", "2019-01-01", "2019-01-01T00:00:00", "2019-13-01T00:00:00Z", "2019-02-29T00:00:00Z",
  "2019-01-01T24:00:00Z", "2019-01-01T00:60:00Z", "2019-01-01T00:00:60Z", "2019-01-01T00:00:00+2400", "2019-01-01T00:00:00+0160",
  "20190-01-01T00:00:00Z", "2019/01/01 00:00:00Z", "2019-01-01T00:00:00Zjunk", "+999999-01-01T00:00:00Z", "2019-01-01T00:00:00.Z",
  "2019-01-01T00:00:00 GMT", "\u0000", "2019-01-01T00:00:00Z\u0000",
];

const set = (target: Json, path: (string | number)[], value: unknown): Json => {
  const copy = clone(target);
  let node: any = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return copy;
};

/** Notifications that must be refused: every required field removed, every field given wrong values. */
function badNotifications(): Json[] {
  const out: Json[] = [];
  const bounce = bounceNotification(["jane@example.com", "joe@example.com"]) as Json;
  const complaint = complaintNotification(["jane@example.com"], { feedbackType: "abuse" }) as Json;
  const delivery = deliveryNotification(["jane@example.com"]) as Json;
  const required: [Json, (string | number)[][]][] = [
    [bounce, [["notificationType"], ["mail"], ["mail", "timestamp"], ["mail", "messageId"], ["bounce"], ["bounce", "bounceType"], ["bounce", "bounceSubType"], ["bounce", "bouncedRecipients"], ["bounce", "timestamp"], ["bounce", "feedbackId"], ["bounce", "bouncedRecipients", 1, "emailAddress"]]],
    [complaint, [["complaint"], ["complaint", "complainedRecipients"], ["complaint", "timestamp"], ["complaint", "feedbackId"], ["complaint", "complainedRecipients", 0, "emailAddress"]]],
    [delivery, [["delivery"], ["delivery", "timestamp"], ["delivery", "recipients"]]],
  ];
  for (const [base, paths] of required) for (const path of paths) out.push(set(base, path, undefined));
  const strings: [Json, (string | number)[]][] = [
    [bounce, ["notificationType"]], [bounce, ["mail", "messageId"]], [bounce, ["bounce", "bounceType"]], [bounce, ["bounce", "bounceSubType"]],
    [bounce, ["bounce", "feedbackId"]], [complaint, ["complaint", "feedbackId"]], [bounce, ["bounce", "bouncedRecipients", 0, "emailAddress"]],
    [complaint, ["complaint", "complainedRecipients", 0, "emailAddress"]], [delivery, ["delivery", "recipients", 0]],
  ];
  for (const [base, path] of strings) for (const value of NOT_STRING) out.push(set(base, path, value));
  for (const [base, path] of [[bounce, ["bounce", "bouncedRecipients"]], [complaint, ["complaint", "complainedRecipients"]], [delivery, ["delivery", "recipients"]]] as const) {
    for (const value of NOT_LIST) out.push(set(base, [...path], value));
  }
  for (const path of [["mail", "source"], ["bounce", "bouncedRecipients", 0, "status"], ["bounce", "bouncedRecipients", 0, "diagnosticCode"]]) {
    for (const value of NOT_OPTIONAL_STRING) out.push(set(bounce, path, value));
  }
  for (const value of [5, true, {}, []]) out.push(set(complaint, ["complaint", "complaintFeedbackType"], value)); // any string maps to "other"
  for (const value of ["x", 5, [5], [null], {}]) out.push(set(bounce, ["mail", "destination"], value));
  for (const value of ["x", 5, [5], [{ name: 5, value: "x" }], [{ name: "a" }], [{ value: "a" }], [{ name: "a", value: 5 }], [{ name: "a", value: [5] }], [{ name: "a", value: null }], [{ name: "a", value: {} }]]) {
    out.push(set(bounce, ["mail", "headers"], value));
  }
  for (const [base, path] of [[bounce, ["mail", "timestamp"]], [bounce, ["bounce", "timestamp"]], [complaint, ["complaint", "timestamp"]], [delivery, ["delivery", "timestamp"]]] as const) {
    for (const value of BAD_TIMESTAMPS) out.push(set(base, [...path], value));
  }
  for (const address of BAD_ADDRESSES) {
    out.push(set(bounce, ["bounce", "bouncedRecipients", 1, "emailAddress"], address));
    out.push(set(complaint, ["complaint", "complainedRecipients", 0, "emailAddress"], address));
    out.push(set(delivery, ["delivery", "recipients"], ["ok@example.com", address]));
  }
  for (const type of ["bounce", "BOUNCE", "Bounces", "Open", "", " Bounce", "Bounce\u0000"]) out.push(set(bounce, ["notificationType"], type));
  // Type/payload mismatches.
  out.push(set(bounce, ["notificationType"], "Complaint"), set(bounce, ["notificationType"], "Delivery"));
  out.push(set(complaint, ["notificationType"], "Bounce"), set(delivery, ["notificationType"], "Bounce"), set(delivery, ["notificationType"], "Complaint"));
  out.push(set(set(bounce, ["bounce"], null), ["complaint"], complaint.complaint));
  return out;
}

/** The raw text of a message (inside an SNS envelope unless noted) for each case. */
function hostileBodies(): string[] {
  const bodies: string[] = [];
  for (const n of badNotifications()) {
    bodies.push(snsBody(n));
    // The event proxy's minimal envelope.
    bodies.push(JSON.stringify({ Message: JSON.stringify(n), Type: "Notification", Timestamp: "2019-01-01T00:00:00.000Z" }));
  }
  // Every prefix of valid notifications (a JSON prefix is never a whole object), wrapped, and of a whole body.
  const at = Date.parse("2019-01-01T00:00:00Z");
  const valid = JSON.stringify(bounceNotification(["prefix@example.com"], { at, messageId: "m", feedbackId: "f" }));
  const others = [complaintNotification(["prefix@example.com"], { at, messageId: "m", feedbackId: "f" }), deliveryNotification(["prefix@example.com"], { at, messageId: "m" })];
  for (const text of [valid, ...others.map((n) => JSON.stringify(n))]) {
    for (let i = 1; i < text.length; i += 1) bodies.push(snsBody(text.slice(0, i)));
  }
  const whole = snsBody(valid);
  for (let i = 1; i < whole.length; i += 1) bodies.push(whole.slice(0, i));
  // Not JSON, or JSON without a string Message.
  bodies.push("not json", "{", "}", "[", "]", "nul", "tru", "-", "01", "1e999x", '{"Message"}', '{"Message":}', "{'Message':'x'}", '{"Message":"x",}', "\u00a0{}", "\u2028");
  for (const message of [null, 5, true, [], {}, ["x"], { notificationType: "Bounce" }]) bodies.push(JSON.stringify({ Type: "Notification", Message: message }));
  for (const value of ["{}", "[]", "[1,2,3]", '"text"', "42", "null", "true", '{"message":"x"}', '{"MESSAGE":"{}"}', JSON.stringify(valid)]) bodies.push(value);
  // Messages that are JSON but not a notification.
  for (const message of ["", " ", "null", "[]", "{}", "42", '"Bounce"', "[{}]", "[\"Bounce\"]", valid + "x", valid + valid, `[${valid}]`]) bodies.push(snsBody(message));
  // Deep nesting and sheer size, inside the body and inside the Message.
  bodies.push("[".repeat(50_000), snsBody("[".repeat(50_000)), snsBody(`{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`), snsBody(" ".repeat(200_000) + "x"));
  bodies.push(snsBody(JSON.stringify({ ...JSON.parse(valid), mail: { ...JSON.parse(valid).mail, headers: Array.from({ length: 5000 }, () => ({ name: "X", value: 5 })) } })));
  return bodies;
}

// SQS accepts these characters in a body (anything else is refused by SendMessage itself).
const SQS_TEXT = /^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

describe("generated hostile SQS messages", () => {
  const bodies = hostileBodies();

  test("the generator: more than 2,200 messages of every kind, all sendable to SQS", () => {
    expect(bodies.length).toBeGreaterThan(2200);
    expect(badNotifications().length).toBeGreaterThan(300);
    for (const body of bodies) expect(SQS_TEXT.test(body)).toBe(true);
  });

  test("each one decodes to an invalid item with a reason, and none throws", () => {
    for (const [i, body] of bodies.entries()) {
      const item = decodeSqsMessage({ MessageId: `m${i}`, ReceiptHandle: "rh", Body: body }, "https://sqs.us-east-1.amazonaws.com/1/q");
      if (item.kind !== "invalid") throw new Error(`accepted: ${body.slice(0, 500)}`);
      expect(item.reason).toStartWith("Invalid notification: ");
    }
  });

  test("through the consumer: all dead-lettered verbatim, deleted, counted; no row, nothing forwarded", async () => {
    const source = sqs.createQueue("hostile-source", { VisibilityTimeout: "120" });
    const notification = sqs.createQueue("hostile-notification");
    const dlq = sqs.createQueue("hostile-dlq");
    for (let i = 0; i < bodies.length; i += 10) {
      const chunk = bodies.slice(i, i + 10);
      await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: source, Entries: chunk.map((b, j) => ({ Id: String(j), MessageBody: b })) }));
    }
    const captured = captureLog("warn");
    const metrics = recordingMetrics();
    const counts = await runEmailQueues(
      { sqs: sqs.client, sql: db.sql, log: captured.log, metrics, hmacKey: HMAC_KEY, wrapOutgoing: false, notificationQueue: sqsOutgoingQueue(sqs.client, notification) },
      { sources: [source], waitTimeSeconds: 0, concurrency: 8, drain: true, signal: new AbortController().signal, deadLetterQueue: sqsOutgoingQueue(sqs.client, dlq) },
    );
    expect(counts).toEqual({ Bounce: 0, Complaint: 0, Delivery: 0, invalid: bodies.length, failed: 0, forwardFailed: 0 });
    expect(metrics.count("notification.invalid", { source: "sqs" })).toBe(bodies.length);
    expect(sqs.depth("hostile-source")).toBe(0);
    expect(sqs.depth("hostile-notification")).toBe(0);
    const dead = sqs.server.inspectQueue("hostile-dlq")!.messages.ready.map((m) => m.body);
    expect(dead.length).toBe(bodies.length);
    expect([...dead].sort()).toEqual([...bodies].sort());
    expect(captured.lines.filter((l) => l.msg === "Error receiving from queue").length).toBe(bodies.length);
    expect((await db.sql`select count(*)::int as n from email_bounces`)[0]!.n).toBe(0);
  }, 120_000);
});

describe("generated hostile webhook bodies", () => {
  const AUTH = "hostile-webhook-auth-secret";
  const SECRET = "sl-secret";
  const notification = sqs.createQueue("hostile-webhook-notification");
  const metrics = recordingMetrics();
  const app = createEventsApp({
    sql: db.sql,
    log: captureLog("error").log,
    metrics,
    hmacKey: HMAC_KEY,
    wrapOutgoing: false,
    notificationQueue: sqsOutgoingQueue(sqs.client, notification),
    webhooks: { sendgrid: { auth: AUTH }, socketlabs: { auth: AUTH, secretKey: SECRET, validationKey: "v" } },
    version: TEST_VERSION,
  });

  const sg = { email: "ok@example.com", timestamp: 1546300800, sg_message_id: "m.filter1", sg_event_id: "e1", event: "bounce", status: "5.1.1" };
  const sl = { Address: "ok@example.com", DateTime: "2019-01-01T00:00:00Z", MessageId: "m1", SecretKey: SECRET, Type: "Failed", FailureCode: 2001 };

  function cases(): { path: string; body: string; type: string; expected: number[] }[] {
    const out: { path: string; body: string; type: string; expected: number[] }[] = [];
    const json = (path: string, body: string, expected = [400]) => out.push({ path, body, type: "application/json", expected });
    for (const [path, event, addressField] of [["/events/sendgrid", sg, "email"], ["/events/socketlabs", sl, "Address"]] as const) {
      const valid = JSON.stringify([event, event]);
      for (let i = 1; i < valid.length; i += 1) json(path, valid.slice(0, i));
      // An empty Address is a SocketLabs event the proxy skipped, not a malformed one.
      for (const address of BAD_ADDRESSES.filter((a) => a !== "" || addressField === "email")) json(path, JSON.stringify([event, { ...event, [addressField]: address }]));
      for (const [key] of Object.entries(event)) {
        // A number is a time to the proxy (and to us): only the other types are wrong for the times.
        for (const value of key === "timestamp" || key === "DateTime" ? [[], {}, ["x"], { a: "b" }] : [5.5, [], {}, ["x"], { a: "b" }]) {
          const bad = { ...event, [key]: value };
          // Values the proxy skipped or accepted are not malformed: only those it crashed on or the parser refuses.
          if (key === "SecretKey") json(path, JSON.stringify([bad]), [401]);
          else if (key === "FailureCode" || key === "event" || key === "Type") continue;
          else json(path, JSON.stringify([event, bad]));
        }
      }
      for (const value of ["5", "null", '"x"', "[5]", '[null]', "[[]]", '[["a"]]', "[true]"]) json(path, value);
      json(path, "\u0000");
      json(path, "[".repeat(100_000));
    }
    // Forms: a bad address, a repeated field (a list), a time that is not one, a percent-escaped line break.
    const form = "timestamp=1546300800&sg_message_id=m&event=bounce&sg_event_id=e";
    for (const bad of ["email=bad", "email=ok%40example.com&email=x%40example.com", "email=ok%40example.com&timestamp=soon", "email=ok%40example.com%0d%0aBcc:%20evil%40example.com", "email=%", "email=%zz"]) {
      out.push({ path: "/events/sendgrid", body: `${form}&${bad}`, type: "application/x-www-form-urlencoded", expected: [400] });
    }
    return out;
  }

  test("every one is a 400 (or a 401 for a wrong SecretKey) in our shape; nothing written or forwarded", async () => {
    const all = cases();
    expect(all.length).toBeGreaterThan(600);
    for (const c of all) {
      const response = await app.request(`${c.path}?auth=${AUTH}`, { method: "POST", headers: { "content-type": c.type }, body: c.body });
      if (!c.expected.includes(response.status)) throw new Error(`${response.status} for ${c.path} ${c.body.slice(0, 200)}: ${await response.text()}`);
      const body = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(["code", "error", "errno", "message"]);
    }
    expect((await db.sql`select count(*)::int as n from email_bounces`)[0]!.n).toBe(0);
    expect(sqs.depth("hostile-webhook-notification")).toBe(0);
  }, 120_000);
});
