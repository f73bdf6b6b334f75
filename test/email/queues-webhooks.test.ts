// The Sendgrid and SocketLabs webhooks of `email-queues serve` through HTTP, against real PostgreSQL and
// the SQS emulator: every branch of both mapping tables (spec/email.md §9.6), authentication, JSON and
// form bodies, single events and arrays, 400s in our error shape with nothing written, idempotency,
// a database failure, and the heartbeat.
import { beforeEach, describe, expect, test } from "bun:test";
import { createSql } from "../../src/db/client.ts";
import { messageDataKey, storeMessageData } from "../../src/email/message-data.ts";
import { createEventsApp, type EventsAppDeps } from "../../src/email/queues/events-api.ts";
import { sqsOutgoingQueue } from "../../src/email/queues/outgoing-queue.ts";
import { sendgridEvent } from "../../src/email/queues/webhooks/sendgrid.ts";
import { createEmailTestDb, HMAC_KEY, TEST_VERSION } from "../support/email.ts";
import { captureLog } from "../support/log.ts";
import { recordingMetrics } from "../support/metrics.ts";
import { startTestSqs } from "../support/sqs.ts";
import { readVector } from "../support/vectors.ts";

const db = await createEmailTestDb();
const sqs = await startTestSqs();
const notificationName = "webhook-notifications";
const notificationUrl = sqs.createQueue(notificationName);
beforeEach(async () => {
  await db.reset();
  sqs.server.reset();
});

const SENDGRID_AUTH = "sendgrid-auth-secret-0123456789";
const SOCKETLABS_AUTH = "socketlabs-auth-secret-0123456789";
const SECRET_KEY = "sl-secret-key";
const VALIDATION_KEY = "sl-validation-key";

function makeApp(overrides: Partial<EventsAppDeps> = {}) {
  const captured = captureLog("info");
  const metrics = recordingMetrics();
  const app = createEventsApp({
    sql: db.sql,
    log: captured.log,
    metrics,
    hmacKey: HMAC_KEY,
    wrapOutgoing: false,
    notificationQueue: sqsOutgoingQueue(sqs.client, notificationUrl),
    webhooks: { sendgrid: { auth: SENDGRID_AUTH }, socketlabs: { auth: SOCKETLABS_AUTH, secretKey: SECRET_KEY, validationKey: VALIDATION_KEY } },
    version: TEST_VERSION,
    sqs: sqs.client,
    ...overrides,
  });
  return { app, captured, metrics };
}

const { app, metrics } = makeApp();

const post = (path: string, body: string | Uint8Array, contentType = "application/json", target = app) =>
  target.request(path, { method: "POST", headers: { "content-type": contentType }, body });
const sendgrid = (events: unknown, auth = SENDGRID_AUTH) => post(`/events/sendgrid?auth=${encodeURIComponent(auth)}`, JSON.stringify(events));
const socketlabs = (events: unknown, auth = SOCKETLABS_AUTH) => post(`/events/socketlabs?auth=${encodeURIComponent(auth)}`, JSON.stringify(events));

async function rows() {
  return (await db.sql`select email, bounce_type, bounce_sub_type, created_at from email_bounces order by id`).map((r) => [r.email, r.bounce_type, r.bounce_sub_type, Number(r.created_at)]);
}
const forwarded = () => sqs.server.inspectQueue(notificationName)!.messages.ready.map((m) => JSON.parse(m.body));

const T = 1546300800; // 2019-01-01T00:00:00Z
const sg = (fields: Record<string, unknown>): Record<string, unknown> => ({ email: "sg@example.com", timestamp: T, sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", sg_event_id: `ev-${crypto.randomUUID()}`, ...fields });
const sl = (fields: Record<string, unknown>) => ({ Address: "sl@example.com", DateTime: "2019-01-01T00:00:00Z", MessageId: `sl-${crypto.randomUUID()}`, SecretKey: SECRET_KEY, ...fields });

describe("Sendgrid: the proxy's mapping, every branch", () => {
  const bounceCases: [string, unknown, [number, number], string, string][] = [
    ["5.1.1", "5.1.1", [1, 3], "Permanent", "NoEmail"],
    ["5.2.2", "5.2.2", [1, 5], "Permanent", "MailboxFull"],
    ["5.2.3", "5.2.3", [1, 6], "Permanent", "MessageTooLarge"],
    ["5.2.1 (x.2.other)", "5.2.1", [1, 2], "Permanent", "General"],
    ["5.6.0", "5.6.0", [1, 7], "Permanent", "ContentRejected"],
    ["5.7.1 (other class)", "5.7.1", [1, 2], "Permanent", "General"],
    ["4.2.2", "4.2.2", [2, 5], "Transient", "MailboxFull"],
    ["4.1.0", "4.1.0", [2, 3], "Transient", "NoEmail"],
    ["4.4.7", "4.4.7", [2, 2], "Transient", "General"],
    ["two parts", "5.1", [2, 2], "Transient", "General"],
    ["four parts", "5.1.1.1", [2, 2], "Transient", "General"],
    ["empty status", "", [2, 2], "Transient", "General"],
    ["no status", undefined, [2, 2], "Transient", "General"],
  ];
  for (const [name, status, codes, bounceType, bounceSubType] of bounceCases) {
    test(`bounce with status ${name} → ${bounceType}/${bounceSubType}`, async () => {
      const response = await sendgrid([sg({ event: "bounce", status })]);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ result: "Processed 1 events" });
      expect(await rows()).toEqual([["sg@example.com", ...codes, T * 1000]]);
      const [out] = forwarded();
      expect(out.bounce).toEqual({ bounceType, bounceSubType, bouncedRecipients: ["sg@example.com"], timestamp: "2019-01-01T00:00:00Z" });
      expect(out.mail).toEqual({ timestamp: "2019-01-01T00:00:00Z", messageId: "14c5d75ce93.dfd.64b469", source: null, destination: null, headers: null });
    });
  }

  test("dropped → Permanent/Suppressed whatever the status: the proxy vector, byte for byte", async () => {
    const event = sg({ event: "dropped", email: "dropped@example.com", sg_event_id: "sg_event_id_dropped", status: 42 });
    const { status: _, ...withoutStatus } = event;
    expect(sendgridEvent(withoutStatus)).toEqual({ kind: "notification", notification: readVector("email/ses/notifications/proxy-sendgrid-01-dropped-bounce.json") });
    expect((await sendgrid([event])).status).toBe(200);
    expect(await rows()).toEqual([["dropped@example.com", 1, 4, T * 1000]]);
    const expected = readVector<{ forwardedBodyExact: string }>("email/ses/expected/proxy-sendgrid-01-dropped-bounce.expected.json");
    expect(sqs.server.inspectQueue(notificationName)!.messages.ready.map((m) => m.body)).toEqual([expected.forwardedBodyExact]);
  });

  test("delivered → Delivery (no row), with the recipient", async () => {
    expect((await sendgrid(sg({ event: "delivered", response: "250 OK" }))).status).toBe(200);
    expect(await rows()).toEqual([]);
    expect(forwarded()[0]).toMatchObject({ notificationType: "Delivery", delivery: { timestamp: "2019-01-01T00:00:00Z", recipients: ["sg@example.com"] } });
  });

  test("spamreport → Complaint without a feedback type (subtype 0)", async () => {
    expect((await sendgrid([sg({ event: "spamreport" })])).status).toBe(200);
    expect(await rows()).toEqual([["sg@example.com", 3, 0, T * 1000]]);
    expect(forwarded()[0].complaint).toEqual({ complainedRecipients: ["sg@example.com"], complaintFeedbackType: null, timestamp: "2019-01-01T00:00:00Z" });
  });

  test("skipped as the proxy skipped them: no timestamp, sg_message_id or event (falsy), and unmapped types", async () => {
    const skipped = [
      sg({ event: "bounce", timestamp: undefined }),
      sg({ event: "bounce", timestamp: 0 }),
      sg({ event: "bounce", sg_message_id: "" }),
      sg({ event: undefined }),
      ...["open", "click", "processed", "deferred", "unsubscribe", "group_unsubscribe", "group_resubscribe", "Bounce"].map((event) => sg({ event })),
    ];
    const response = await sendgrid([...skipped, sg({ event: "bounce", status: "5.1.1" })]);
    expect(await response.json()).toEqual({ result: "Processed 1 events" });
    expect((await rows()).length).toBe(1);
    expect(metrics.count("webhook.events", { provider: "sendgrid", outcome: "skipped" })).toBeGreaterThanOrEqual(skipped.length);
  });

  test("timestamps: seconds (fractions kept), or numbers as text", async () => {
    await sendgrid([sg({ event: "bounce", timestamp: T + 0.5, email: "a@example.com" }), sg({ event: "bounce", timestamp: String(T + 1), email: "b@example.com" })]);
    expect((await rows()).map((r) => r[3])).toEqual([T * 1000 + 500, (T + 1) * 1000]);
    expect(forwarded().map((f) => f.mail.timestamp)).toEqual(["2019-01-01T00:00:00.500Z", "2019-01-01T00:00:01Z"]);
  });

  test("one event object (not an array), and a form body", async () => {
    expect((await sendgrid(sg({ event: "bounce", email: "one@example.com" }))).status).toBe(200);
    const form = new URLSearchParams({ email: "form@example.com", timestamp: String(T), sg_message_id: "m.filter1", sg_event_id: "form-1", event: "dropped" }).toString();
    const response = await post(`/events/sendgrid?auth=${SENDGRID_AUTH}`, form, "application/x-www-form-urlencoded");
    expect(response.status).toBe(200);
    expect((await rows()).map((r) => r[0])).toEqual(["one@example.com", "form@example.com"]);
  });

  test("the same event posted twice (a provider retry) is one row", async () => {
    const event = sg({ event: "bounce", status: "5.1.1" });
    await sendgrid([event]);
    await sendgrid([event, event]);
    expect((await rows()).length).toBe(1);
  });

  test("metadata stored by /send for the message id rides along", async () => {
    await storeMessageData(db.sql, messageDataKey(HMAC_KEY, "14c5d75ce93.dfd.64b469"), "meta!", Date.now(), 60_000);
    await sendgrid([sg({ event: "delivered" })]);
    expect(forwarded()[0].metadata).toBe("meta!");
  });
});

describe("SocketLabs: the proxy's mapping, every branch", () => {
  const failures: [unknown, [number, number], string, string][] = [
    [1002, [1, 1], "Permanent", "Undetermined"], // the proxy's "Supressed", which SES parsing maps to Undetermined
    [1003, [1, 1], "Permanent", "Undetermined"],
    [1004, [2, 7], "Transient", "ContentRejected"],
    [1007, [2, 8], "Transient", "AttachmentRejected"],
    [2001, [1, 3], "Permanent", "NoEmail"],
    [2002, [1, 3], "Permanent", "NoEmail"],
    [2003, [1, 3], "Permanent", "NoEmail"],
    [2004, [1, 3], "Permanent", "NoEmail"],
    [2999, [1, 3], "Permanent", "NoEmail"],
    [3001, [2, 5], "Transient", "MailboxFull"],
    [9999, [2, 1], "Undetermined", "Undetermined"],
    [5000, [2, 2], "Transient", "General"],
    [undefined, [2, 2], "Transient", "General"],
    ["2001", [1, 3], "Permanent", "NoEmail"], // text, as form bodies carry it
  ];
  for (const [code, codes, bounceType, bounceSubType] of failures) {
    test(`Failed with FailureCode ${JSON.stringify(code)} → ${bounceType}/${bounceSubType}`, async () => {
      const response = await socketlabs([sl({ Type: "Failed", FailureCode: code })]);
      expect(response.status).toBe(200);
      expect(await rows()).toEqual([["sl@example.com", ...codes, T * 1000]]);
      expect(forwarded()[0].bounce).toMatchObject({ bounceType, bounceSubType, bouncedRecipients: ["sl@example.com"] });
    });
  }

  test("Delivered → Delivery, Complaint → Complaint (subtype 0), MessageId is the mail id", async () => {
    const delivered = sl({ Type: "Delivered", Response: "250 OK", MessageId: "sl-delivered" });
    const complaint = sl({ Type: "Complaint", MessageId: "sl-complaint" });
    expect(await (await socketlabs([delivered, complaint])).json()).toEqual({ result: "Processed 2 events" });
    expect(await rows()).toEqual([["sl@example.com", 3, 0, T * 1000]]);
    expect(forwarded().map((f) => [f.notificationType, f.mail.messageId]).sort()).toEqual([["Complaint", "sl-complaint"], ["Delivery", "sl-delivered"]]);
  });

  test("skipped: no Address, DateTime, Type or MessageId, and unmapped types", async () => {
    const skipped = [sl({ Type: "Failed", Address: "" }), sl({ Type: "Failed", DateTime: undefined }), sl({ Type: undefined }), sl({ Type: "Failed", MessageId: null }), sl({ Type: "Deferred" }), sl({ Type: "Tracking" })];
    expect(await (await socketlabs(skipped)).json()).toEqual({ result: "Processed 0 events" });
    expect(await rows()).toEqual([]);
  });

  test("a Validation event with the SecretKey is answered with the ValidationKey; with another key, 401", async () => {
    const ok = await socketlabs({ Type: "Validation", SecretKey: SECRET_KEY });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(VALIDATION_KEY);
    const bad = await socketlabs({ Type: "Validation", SecretKey: "guess" });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ code: 401, error: "Unauthorized", errno: 999, message: "Invalid SecretKey" });
  });

  test("an event without the right SecretKey refuses the whole request (401), nothing written", async () => {
    for (const key of [undefined, "wrong", 5]) {
      const response = await socketlabs([sl({ Type: "Failed" }), sl({ Type: "Failed", SecretKey: key })]);
      expect(response.status).toBe(401);
    }
    expect(await rows()).toEqual([]);
    expect(forwarded()).toEqual([]);
  });

  test("a form body (as SocketLabs posts it)", async () => {
    const form = new URLSearchParams({ Type: "Failed", Address: "Form <Form@Example.com>", DateTime: "2019-01-01T00:00:00Z", MessageId: "sl-form", SecretKey: SECRET_KEY, FailureCode: "3001" });
    const response = await post(`/events/socketlabs?auth=${SOCKETLABS_AUTH}`, form.toString(), "application/x-www-form-urlencoded; charset=utf-8");
    expect(response.status).toBe(200);
    expect(await rows()).toEqual([["form@example.com", 2, 5, T * 1000]]);
  });
});

describe("authentication (?auth=, as the proxy)", () => {
  const UNAUTHORIZED = { code: 401, error: "Unauthorized", errno: 999, message: "Request must provide a valid auth query param." };

  test("missing, wrong, empty, or the other provider's secret: 401 in our shape, nothing written", async () => {
    const event = [sg({ event: "bounce" })];
    for (const path of ["/events/sendgrid", "/events/sendgrid?auth=", `/events/sendgrid?auth=${SENDGRID_AUTH}x`, `/events/sendgrid?auth=${SOCKETLABS_AUTH}`, `/events/sendgrid?Auth=${SENDGRID_AUTH}`]) {
      const response = await post(path, JSON.stringify(event));
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toStartWith("application/json");
      expect(await response.json()).toEqual(UNAUTHORIZED);
    }
    const sl401 = await post(`/events/socketlabs?auth=${SENDGRID_AUTH}`, JSON.stringify([sl({ Type: "Failed" })]));
    expect(sl401.status).toBe(401);
    expect(await rows()).toEqual([]);
    expect(metrics.count("webhook.unauthorized", { provider: "sendgrid" })).toBeGreaterThanOrEqual(5);
  });

  test("the secret is never logged: ?auth= shows as [hidden] in the request lines", async () => {
    const { app: logged, captured } = makeApp();
    await post(`/events/sendgrid?x=1&auth=${SENDGRID_AUTH}`, "[]", "application/json", logged);
    await post("/events/sendgrid?auth=not-the-secret", "[]", "application/json", logged);
    const text = JSON.stringify(captured.lines);
    expect(text).not.toContain(SENDGRID_AUTH);
    expect(text).not.toContain("not-the-secret");
    expect(captured.lines.find((l) => l.msg === "Request finished")!.fields.path).toBe("/events/sendgrid?x=1&auth=[hidden]");
  });

  test("auth is checked before the body is read: a bad body without auth is a 401", async () => {
    expect((await post("/events/sendgrid", "not json")).status).toBe(401);
  });

  test("a provider without secrets has no route (404), and GET is not a route", async () => {
    const { app: onlySendgrid } = makeApp({ webhooks: { sendgrid: { auth: SENDGRID_AUTH } } });
    const response = await post(`/events/socketlabs?auth=${SOCKETLABS_AUTH}`, "[]", "application/json", onlySendgrid);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 404, errno: 999 });
    expect((await app.request(`/events/sendgrid?auth=${SENDGRID_AUTH}`)).status).toBe(404);
  });
});

describe("malformed requests: a 400 in our shape, nothing written or forwarded", () => {
  const expect400 = async (response: Response, message: string | RegExp) => {
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["code", "error", "errno", "message"]);
    expect(body).toMatchObject({ code: 400, error: "Bad Request", errno: 102 });
    if (typeof message === "string") expect(body.message).toBe(message);
    else expect(body.message as string).toMatch(message);
  };

  test("bodies that are not JSON or not UTF-8, and bodies over the limit", async () => {
    await expect400(await post(`/events/sendgrid?auth=${SENDGRID_AUTH}`, "{not json"), /^Invalid payload: request body is not JSON: /);
    await expect400(await post(`/events/sendgrid?auth=${SENDGRID_AUTH}`, new Uint8Array([0x5b, 0xff, 0x5d])), "Invalid payload: request body is not UTF-8");
    const { app: small } = makeApp({ maxBodyBytes: 100 });
    await expect400(await post(`/events/sendgrid?auth=${SENDGRID_AUTH}`, JSON.stringify([sg({ event: "bounce" })]), "application/json", small), "Invalid payload: request body larger than 100 bytes");
  });

  test("one bad event among good ones refuses them all", async () => {
    const good = sg({ event: "bounce", email: "good@example.com" });
    await expect400(await sendgrid([good, 5]), "Invalid payload: event 1: an event must be an object");
    await expect400(await sendgrid([good, sg({ event: "bounce", email: "not an address" })]), 'Invalid payload: event 1: invalid value: string "not an address", expected email address');
    await expect400(await sendgrid([good, sg({ event: "bounce", email: undefined })]), "Invalid payload: event 1: missing field `emailAddress`");
    await expect400(await sendgrid([good, sg({ event: "spamreport", sg_event_id: undefined })]), "Invalid payload: event 1: missing field `feedbackId`");
    await expect400(await sendgrid([good, sg({ event: "bounce", sg_message_id: 5 })]), "Invalid payload: event 1: sg_message_id must be a string");
    await expect400(await sendgrid([good, sg({ event: "bounce", timestamp: "soon" })]), 'Invalid payload: event 1: timestamp "soon" is not a Unix time');
    await expect400(await sendgrid([good, sg({ event: "bounce", status: 511 })]), "Invalid payload: event 1: status must be a string");
    await expect400(await sendgrid([good, sg({ event: "delivered", email: ["a@example.com"] })]), 'Invalid payload: event 1: invalid type: sequence, expected a string');
    await expect400(await socketlabs([sl({ Type: "Failed", DateTime: "someday" })]), 'Invalid payload: event 0: DateTime "someday" is not a date');
    await expect400(await socketlabs([sl({ Type: "Failed", MessageId: 12 })]), "Invalid payload: event 0: invalid type: integer `12`, expected a string");
    await expect400(await socketlabs(["x"]), "Invalid payload: event 0: an event must be an object");
    expect(await rows()).toEqual([]);
    expect(forwarded()).toEqual([]);
    expect(metrics.count("webhook.invalid", { provider: "sendgrid" })).toBeGreaterThanOrEqual(8);
  });

  test("an empty array is fine: nothing to do", async () => {
    expect(await (await sendgrid([])).json()).toEqual({ result: "Processed 0 events" });
  });
});

describe("failures and health", () => {
  test("the database down: 500 errno 100, nothing forwarded; the provider's retry records it once", async () => {
    const down = createSql("postgres://postgres@127.0.0.1:9/nowhere", { max: 1, connectTimeout: 1 });
    const { app: broken, captured } = makeApp({ sql: down });
    const event = [sg({ event: "bounce", status: "5.1.1" })];
    const response = await post(`/events/sendgrid?auth=${SENDGRID_AUTH}`, JSON.stringify(event), "application/json", broken);
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: 500, error: "Internal Server Error", errno: 100 });
    expect(captured.messages()).toContain("Request errored");
    expect(forwarded()).toEqual([]);
    expect((await sendgrid(event)).status).toBe(200);
    expect((await rows()).length).toBe(1);
    await down.end();
  });

  test("the notification queue unreachable: still 200, recorded, forward.failed counted", async () => {
    const { app: noQueue, metrics: m } = makeApp({ notificationQueue: sqsOutgoingQueue(sqs.client, notificationUrl.replace(notificationName, "missing-queue")) });
    const response = await post(`/events/sendgrid?auth=${SENDGRID_AUTH}`, JSON.stringify([sg({ event: "bounce" })]), "application/json", noQueue);
    expect(response.status).toBe(200);
    expect((await rows()).length).toBe(1);
    expect(m.count("forward.failed")).toBe(1);
  });

  test("/__heartbeat__: PostgreSQL and the notification queue answer → {}; either down → 500", async () => {
    const ok = await app.request("/__heartbeat__");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({});
    const { app: noQueue } = makeApp({ notificationQueue: sqsOutgoingQueue(sqs.client, notificationUrl.replace(notificationName, "missing-queue")) });
    const missing = await noQueue.request("/__heartbeat__");
    expect(missing.status).toBe(500);
    expect(await missing.json()).toMatchObject({ code: 500, errno: 100 });
    const down = createSql("postgres://postgres@127.0.0.1:9/nowhere", { max: 1, connectTimeout: 1 });
    const { app: noDb } = makeApp({ sql: down });
    expect((await noDb.request("/__heartbeat__")).status).toBe(500);
    await down.end();
    expect((await app.request("/__lbheartbeat__")).status).toBe(200);
    expect(await (await app.request("/__version__")).json()).toEqual(TEST_VERSION);
  });
});
