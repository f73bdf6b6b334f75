// SES notifications without queues or a database: the vectors (parse outcome, rows, byte-exact
// forwarded body), the upstream catalogue `queues/sqs/notification/test.rs` (spec/email.md §12.9), the
// parsing steps of §9.2 with the original's messages, serde's error wording and positions, and
// chrono's timestamp parsing and rendering.
import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import type { Message } from "@aws-sdk/client-sqs";
import { formatChrono, parseCanonicalUtc, parseChronoItems, parseChronoTimestamp } from "../../src/email/queues/chrono-time.ts";
import {
  BOUNCE_SUBTYPES,
  COMPLAINT_FEEDBACK_TYPES,
  parseSesNotification,
  payloadError,
  type SesNotification,
} from "../../src/email/queues/notification.ts";
import { outgoingNotification, wrapOutgoing } from "../../src/email/queues/outgoing.ts";
import { problemRows } from "../../src/email/queues/problem-records.ts";
import { decodeNotificationText, decodeSqsMessage } from "../../src/email/queues/sqs-message.ts";
import { SerdeError } from "../../src/email/serde-json.ts";
import { bounceNotification, sesVectors, snsBody } from "../support/email-queues.ts";
import { readVector } from "../support/vectors.ts";

const URL_ = "https://sqs.us-west-2.amazonaws.com/123456789012/fxa-email-bounce";
const NOW = Date.parse("2030-01-01T00:00:00Z");
const utf8 = new TextEncoder();
const parse = (value: unknown, note?: (n: string) => void) => parseSesNotification(utf8.encode(typeof value === "string" ? value : JSON.stringify(value)), note);

/** The serde error of a refused notification, as `<description> at line L column C`. */
function parseError(value: unknown): string {
  try {
    parse(value);
  } catch (error) {
    if (error instanceof SerdeError) return error.toString();
    throw error;
  }
  throw new Error("parsed");
}

const sqsMessage = (body: string | undefined, overrides: Partial<Message> = {}): Message => ({
  MessageId: "m-1",
  ReceiptHandle: "rh-1",
  ...(body === undefined ? {} : { Body: body, MD5OfBody: createHash("md5").update(body).digest("hex") }),
  ...overrides,
});

describe("the vectors (ses/ and upstream/ses/)", () => {
  const vectors = sesVectors();

  test("all nine are here", () => {
    expect(vectors.map((v) => v.name)).toEqual([
      "ses/bounce-02-permanent-general-with-dsn",
      "ses/complaint-02-with-feedback-report",
      "ses/delivery-02-aws-style",
      "ses/invalid-01-missing-feedbackId",
      "ses/proxy-sendgrid-01-dropped-bounce",
      "ses/transport-02-body-not-json",
      "upstream/ses/bounce-01-repo-permanent-general-3-recipients",
      "upstream/ses/complaint-01-repo-abuse",
      "upstream/ses/delivery-01-repo",
    ]);
  });

  for (const vector of vectors) {
    test(vector.name, () => {
      const { expected } = vector;
      const item = decodeSqsMessage(vector.message, expected.queueUrlAssumed);
      if (expected.parse === "error") {
        expect(item).toEqual({ kind: "invalid", reason: expected.error!.message });
        return;
      }
      expect(item.kind).toBe("notification");
      if (item.kind !== "notification") return;
      const rows = problemRows(item.notification, NOW).map(({ email, bounce_type, bounce_sub_type }) => ({ email, bounceType: bounce_type, bounceSubType: bounce_sub_type }));
      expect(rows).toEqual(expected.dbWrites);
      const body = outgoingNotification(item.notification);
      expect(body).toBe(expected.forwardedBodyExact!);
      if (expected.forwarded) expect(JSON.parse(body)).toEqual(expected.forwarded);
    });
  }

  test("the inner notification files parse to the same thing as their SQS messages", () => {
    for (const name of ["bounce-02-permanent-general-with-dsn", "complaint-02-with-feedback-report", "delivery-02-aws-style", "proxy-sendgrid-01-dropped-bounce"]) {
      const pretty = readVector<Record<string, unknown>>(`email/ses/notifications/${name}.json`);
      const fromFile = parse(pretty);
      const fromQueue = decodeSqsMessage(readVector<Message>(`email/ses/sqs/${name}.sqs.json`), URL_);
      expect(fromQueue).toEqual({ kind: "notification", notification: fromFile });
    }
  });

  test("the pretty-printed invalid notification fails at its own position, with the same description", () => {
    const pretty = JSON.stringify(readVector("email/ses/notifications/invalid-01-missing-feedbackId.json"), null, 2);
    expect(parseError(pretty)).toStartWith("missing field `feedbackId` at line ");
  });
});

describe("queues/sqs/notification/test.rs (spec/email.md §12.9)", () => {
  const withType = (notificationType: unknown) => ({ ...bounceNotification(["a@example.com"]), notificationType });

  test("deserialize_notification_type", () => {
    expect(parse(withType("Bounce")).notificationType).toBe("Bounce");
    const complaint = { notificationType: "Complaint", mail: { timestamp: "2019-01-01T00:00:00Z", messageId: "x" } };
    expect(parse(complaint).notificationType).toBe("Complaint");
    expect(parse({ ...complaint, notificationType: "Delivery" }).notificationType).toBe("Delivery");
  });

  test("deserialize_invalid_notification_type", () => {
    for (const bad of ["bounce", "Bouncex", "BBounce"]) {
      expect(parseError(withType(bad))).toStartWith(`invalid value: string "${bad}", expected SES notificiation type at line 1 column `);
    }
  });

  test("serialize_notification_type", () => {
    const out = (n: SesNotification) => JSON.parse(outgoingNotification(n)).notificationType;
    const fixture = readVector<unknown[]>("email/upstream/ses/test_notifications.json").map((n) => parse(n));
    expect(fixture.map(out)).toEqual(["Bounce", "Complaint", "Delivery"]);
  });

  test("serialize_null_notification_type: a notification without a type never exists (the field is required)", () => {
    const { notificationType: _, ...untyped } = withType("Bounce");
    expect(parseError(untyped)).toStartWith("missing field `notificationType`");
  });

  test("bounce_type_to_problem_type: Undetermined → soft, Permanent → hard, Transient → soft", () => {
    const typeOf = (bounceType: string) => problemRows(parse(bounceNotification(["a@example.com"], { bounceType })), NOW)[0]!.bounce_type;
    expect([typeOf("Undetermined"), typeOf("Permanent"), typeOf("Transient")]).toEqual([2, 1, 2]);
  });

  test("deserialize_bounce_type: exact names, anything else Undetermined (noted as the original logged it)", () => {
    for (const name of ["Undetermined", "Permanent", "Transient"]) expect(parse(bounceNotification(["a@example.com"], { bounceType: name })).bounce!.bounceType).toBe(name as never);
    for (const bad of ["wibble", "Permanentx", "PPermanent"]) {
      const notes: string[] = [];
      expect(parse(bounceNotification(["a@example.com"], { bounceType: bad }), (n) => notes.push(n)).bounce!.bounceType).toBe("Undetermined");
      expect(notes).toEqual([`Mapped unrecognised SES bounceType \`${bad}\` to BounceType::Undetermined`]);
    }
  });

  test("serialize_bounce_type", () => {
    for (const name of ["Undetermined", "Permanent", "Transient"]) {
      expect(JSON.parse(outgoingNotification(parse(bounceNotification(["a@example.com"], { bounceType: name })))).bounce.bounceType).toBe(name);
    }
  });

  test("bounce_subtype_to_problem_subtype: the 8 SES subtypes are codes 1..8", () => {
    const codes = BOUNCE_SUBTYPES.map((s) => problemRows(parse(bounceNotification(["a@example.com"], { bounceSubType: s })), NOW)[0]!.bounce_sub_type);
    expect(codes).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("deserialize_bounce_subtype: exact names, anything else Undetermined", () => {
    for (const name of BOUNCE_SUBTYPES) expect(parse(bounceNotification(["a@example.com"], { bounceSubType: name })).bounce!.bounceSubType).toBe(name);
    for (const bad of ["wibble", "undetermined", "Undeterminedd", "UUndetermined"]) {
      expect(parse(bounceNotification(["a@example.com"], { bounceSubType: bad })).bounce!.bounceSubType).toBe("Undetermined");
    }
  });

  test("serialize_bounce_subtype", () => {
    for (const name of BOUNCE_SUBTYPES) {
      expect(JSON.parse(outgoingNotification(parse(bounceNotification(["a@example.com"], { bounceSubType: name })))).bounce.bounceSubType).toBe(name);
    }
  });

  const complaint = (feedbackType?: unknown) => ({
    notificationType: "Complaint",
    mail: { timestamp: "2019-01-01T00:00:00Z", messageId: "m" },
    complaint: { complainedRecipients: [{ emailAddress: "a@example.com" }], timestamp: "2019-01-01T00:00:01Z", feedbackId: "f", ...(feedbackType === undefined ? {} : { complaintFeedbackType: feedbackType }) },
  });

  test("complaint_feedback_type_to_problem_type: abuse..virus are codes 9..14, none is 0", () => {
    const codes = COMPLAINT_FEEDBACK_TYPES.map((t) => problemRows(parse(complaint(t)), NOW)[0]!);
    expect(codes.map((r) => [r.bounce_type, r.bounce_sub_type])).toEqual([[3, 9], [3, 10], [3, 11], [3, 12], [3, 13], [3, 14]]);
    expect(problemRows(parse(complaint()), NOW)[0]!.bounce_sub_type).toBe(0);
    expect(problemRows(parse(complaint(null)), NOW)[0]!.bounce_sub_type).toBe(0);
  });

  test("deserialize_complaint_feedback_type: exact names, anything else other", () => {
    for (const name of COMPLAINT_FEEDBACK_TYPES) expect(parse(complaint(name)).complaint!.complaintFeedbackType).toBe(name);
    for (const bad of ["wibble", "Abuse", "abusee", "aabuse"]) expect(parse(complaint(bad)).complaint!.complaintFeedbackType).toBe("other");
  });

  test("serialize_complaint_feedback_type (and null when absent)", () => {
    for (const name of COMPLAINT_FEEDBACK_TYPES) expect(JSON.parse(outgoingNotification(parse(complaint(name)))).complaint.complaintFeedbackType).toBe(name);
    expect(outgoingNotification(parse(complaint()))).toContain('"complaintFeedbackType":null');
  });

  const fixture = () => readVector<unknown[]>("email/upstream/ses/test_notifications.json").map((n) => parse(n));

  test("deserialize_notification: the upstream fixture", () => {
    const [bounce, complaintN, delivery] = fixture();
    expect(bounce!.notificationType).toBe("Bounce");
    expect(bounce!.mail.source).toBe("foo@example.com");
    expect(bounce!.mail.destination).toEqual(["bar@example.com"]);
    expect(bounce!.complaint).toBeUndefined();
    expect(bounce!.delivery).toBeUndefined();
    expect(bounce!.bounce!.bouncedRecipients).toEqual(["bar@example.com", "baz@example.com", "qux@example.com"]);
    expect(bounce!.bounce!.bounceType).toBe("Permanent");
    expect(bounce!.bounce!.bounceSubType).toBe("General");
    expect(complaintN!.notificationType).toBe("Complaint");
    expect(complaintN!.mail.source).toBe("qux@example.com");
    expect(complaintN!.mail.destination).toEqual(["baz@example.com"]);
    expect(complaintN!.complaint!.complainedRecipients).toEqual(["baz@example.com"]);
    expect(complaintN!.complaint!.complaintFeedbackType).toBe("abuse");
    expect(delivery!.notificationType).toBe("Delivery");
    expect(delivery!.mail.source).toBe("quuz@example.com");
    expect(delivery!.mail.destination).toEqual(["xyzzy@example.com"]);
    expect(delivery!.delivery!.recipients[0]).toBe("xyzzy@example.com");
  });

  test("serialize_outgoing_notification: the upstream fixture", () => {
    const [bounce, complaintN, delivery] = fixture().map((n) => JSON.parse(outgoingNotification(n)));
    expect(bounce.notificationType).toBe("Bounce");
    expect(bounce.mail.source).toBe("foo@example.com");
    expect(bounce.mail.destination[0]).toBe("bar@example.com");
    expect(bounce.bounce.bouncedRecipients).toEqual(["bar@example.com", "baz@example.com", "qux@example.com"]);
    expect(bounce.bounce.bounceType).toBe("Permanent");
    expect(bounce.bounce.bounceSubType).toBe("General");
    expect(complaintN.complaint.complainedRecipients[0]).toBe("baz@example.com");
    expect(complaintN.complaint.complaintFeedbackType).toBe("abuse");
    expect(delivery.delivery.recipients[0]).toBe("xyzzy@example.com");
  });
});

describe("parsing one SQS message, in the original's order (spec/email.md §9.2)", () => {
  const good = snsBody(bounceNotification(["a@example.com"]));
  const reason = (m: Message) => {
    const item = decodeSqsMessage(m, URL_);
    return item.kind === "invalid" ? item.reason : "ok";
  };

  test("1. a missing or empty body", () => {
    expect(reason(sqsMessage(undefined))).toBe(`Invalid notification: missing body from ${URL_}`);
    expect(reason(sqsMessage("", { Body: "" }))).toBe(`Invalid notification: missing body from ${URL_}`);
  });

  test("2. an MD5 that does not match (checked before the receipt handle); no MD5 is fine", () => {
    expect(reason(sqsMessage(good, { MD5OfBody: "0".repeat(32), ReceiptHandle: undefined }))).toBe(`Invalid notification: MD5 hash mismatch from ${URL_}`);
    expect(reason(sqsMessage(good, { MD5OfBody: undefined }))).toBe("ok");
  });

  test("3. a missing receipt handle", () => {
    expect(reason(sqsMessage(good, { ReceiptHandle: undefined }))).toBe(`Invalid notification: missing receipt_handle from ${URL_}`);
    expect(reason(sqsMessage(good, { ReceiptHandle: "" }))).toBe(`Invalid notification: missing receipt_handle from ${URL_}`);
  });

  test("4. a body that is not JSON: serde_json's Debug text", () => {
    expect(reason(sqsMessage("this is not json"))).toBe('Invalid notification: Error("expected ident", line: 1, column: 2)');
    expect(reason(sqsMessage("{"))).toBe('Invalid notification: Error("EOF while parsing an object", line: 1, column: 1)');
    expect(reason(sqsMessage('{"Message": "x"} trailing'))).toBe('Invalid notification: Error("trailing characters", line: 1, column: 18)');
    expect(reason(sqsMessage('{\n  "a": tru\n}'))).toBe('Invalid notification: Error("expected ident", line: 3, column: 0)');
  });

  test("5. no Message string (raw delivery, arrays, objects)", () => {
    for (const body of ["{}", "[1,2]", '"text"', "42", "null", JSON.stringify({ Message: { notificationType: "Bounce" } }), JSON.stringify({ message: "x" })]) {
      expect(reason(sqsMessage(body))).toBe(`Invalid notification: unparseable message from ${URL_}`);
    }
  });

  test("6. a Message that is not an SES notification: serde's error with its position in the Message", () => {
    expect(reason(sqsMessage(snsBody("not json")))).toBe('Invalid notification: Error("expected ident", line: 1, column: 2)');
    expect(reason(sqsMessage(snsBody({ notificationType: "Bounce" })))).toBe('Invalid notification: Error("missing field `mail`", line: 1, column: 29)');
  });

  test("then the payload of its type (§9.4): a Bounce carrying only a complaint", () => {
    const { bounce: _, ...rest } = bounceNotification(["a@example.com"]);
    const onlyComplaint = { ...rest, complaint: { complainedRecipients: [{ emailAddress: "a@example.com" }], timestamp: "2019-01-01T00:00:00Z", feedbackId: "f" } };
    expect(reason(sqsMessage(snsBody(onlyComplaint)))).toBe("Invalid notification: missing bounce payload");
    expect(reason(sqsMessage(snsBody({ ...onlyComplaint, notificationType: "Delivery" })))).toBe("Invalid notification: missing delivery payload");
    const { complaint: __, ...bare } = { ...onlyComplaint, notificationType: "Complaint" };
    expect(reason(sqsMessage(snsBody(bare)))).toBe("Invalid notification: missing complaint payload");
  });

  test("a valid message, with or without the SNS envelope's other fields", () => {
    expect(reason(sqsMessage(good))).toBe("ok");
    expect(reason(sqsMessage(JSON.stringify({ Message: JSON.stringify(bounceNotification(["a@example.com"])) })))).toBe("ok");
  });
});

describe("serde's rules for the notification (spec/email.md §9.3)", () => {
  const base = () => bounceNotification(["Jane Doe <Jane@Example.COM>"], { at: Date.parse("2019-01-01T00:00:00Z") });

  test("addresses are normalised; an invalid one fails the whole notification", () => {
    expect(parse(base()).bounce!.bouncedRecipients).toEqual(["jane@example.com"]);
    const bad = base();
    bad.bounce.bouncedRecipients.push({ emailAddress: "  not an address  ", status: "5.1.1", action: "failed" });
    expect(parseError(bad)).toMatch(/^invalid value: string "not an address", expected email address at line 1 column \d+$/);
    expect(decodeNotificationText(JSON.stringify({ ...deliveryOf(["foo@"]) })).kind).toBe("invalid");
  });

  const deliveryOf = (recipients: unknown[]) => ({ notificationType: "Delivery", mail: { timestamp: "2019-01-01T00:00:00Z", messageId: "m" }, delivery: { timestamp: "2019-01-01T00:00:00Z", recipients } });

  test("unknown fields are ignored everywhere; optional ones may be null", () => {
    const n = { ...base(), extra: { deeply: [{ nested: true }] }, mail: { ...base().mail, source: null, destination: null, headers: null, sourceArn: 5 } };
    const parsed = parse(n);
    expect(parsed.mail.source).toBeUndefined();
    expect(outgoingNotification(parsed)).toContain('"source":null,"destination":null,"headers":null');
  });

  test("wrong types, duplicates and trailing characters are refused with serde's wording", () => {
    expect(parseError({ ...base(), mail: { ...base().mail, messageId: 5 } })).toMatch(/^invalid type: integer `5`, expected a string at line 1 column \d+$/);
    expect(parseError({ ...base(), mail: { ...base().mail, timestamp: null } })).toMatch(/^invalid type: null, expected a formatted date and time string or a unix timestamp at line 1 column \d+$/);
    expect(parseError({ ...base(), mail: { ...base().mail, destination: "x@example.com" } })).toMatch(/^invalid type: string "x@example.com", expected a sequence at line 1 column \d+$/);
    expect(parseError('{"notificationType":"Bounce","notificationType":"Bounce"}')).toBe("duplicate field `notificationType` at line 1 column 47");
    expect(parseError(JSON.stringify(base()) + " x")).toMatch(/^trailing characters at line 1 column \d+$/);
    expect(parseError("[]")).toBe("invalid length 0, expected struct Notification with 5 elements at line 1 column 2");
  });

  test("a header value is a string or a list of strings; anything else matches no variant", () => {
    const withHeaders = (headers: unknown) => ({ ...base(), mail: { ...base().mail, headers } });
    const parsed = parse(withHeaders([{ name: "X-A", value: "1" }, { name: "X-B", value: ["2", "3"] }]));
    expect(outgoingNotification(parsed)).toContain('"headers":[{"name":"X-A","value":"1"},{"name":"X-B","value":["2","3"]}]');
    for (const value of [5, null, [1], { a: "b" }]) {
      expect(parseError(withHeaders([{ name: "X-A", value }]))).toMatch(/^data did not match any variant of untagged enum HeaderValue at line 1 column \d+$/);
    }
  });

  test("a timestamp chrono cannot read is refused, positioned right after the string", () => {
    const n = { ...base(), mail: { ...base().mail, timestamp: "yesterday" } };
    const text = JSON.stringify(n);
    const column = text.indexOf('"yesterday"') + '"yesterday"'.length;
    expect(parseError(n)).toBe(`input contains invalid characters at line 1 column ${column}`);
  });

  test("payloadError", () => {
    expect(payloadError(parse(base()))).toBeUndefined();
  });
});

describe("chrono timestamps", () => {
  const text = (s: string) => parseChronoTimestamp(s).text;
  const fails = (s: string) => {
    try {
      parseChronoTimestamp(s);
    } catch (error) {
      return (error as Error).message;
    }
    return "parsed";
  };

  test("rendered like the original: fraction of 3, 6 or 9 digits, none when zero, in UTC", () => {
    expect(text("2016-01-27T14:05:45 +0000")).toBe("2016-01-27T14:05:45Z");
    expect(text("2012-05-25T14:59:38.605Z")).toBe("2012-05-25T14:59:38.605Z");
    expect(text("2018-12-31T23:00:09.09Z")).toBe("2018-12-31T23:00:09.090Z");
    expect(text("2019-01-01T00:00:00.000Z")).toBe("2019-01-01T00:00:00Z");
    expect(text("2019-01-01T00:00:00.1234Z")).toBe("2019-01-01T00:00:00.123400Z");
    expect(text("2019-01-01T00:00:00.123456789999Z")).toBe("2019-01-01T00:00:00.123456789Z");
    expect(text("2009-12-03T04:24:21.000-05:00")).toBe("2009-12-03T09:24:21Z");
    expect(text("2019-01-01T00:30:00+0100")).toBe("2018-12-31T23:30:00Z");
    expect(text("2019-01-01 00:00:00 z")).toBe("2019-01-01T00:00:00Z");
    expect(text("2019-1-2T3:4:5UTC")).toBe("2019-01-02T03:04:05Z");
    expect(text("2019-01-01T00:00:00+01 30  ")).toBe("2018-12-31T22:30:00Z");
    expect(text("2020-02-29T12:00:00Z")).toBe("2020-02-29T12:00:00Z");
    expect(text("+10000-01-01T00:00:00Z")).toBe("+10000-01-01T00:00:00Z");
  });

  test("ms since the epoch, rounded down", () => {
    expect(parseChronoTimestamp("2019-01-01T00:00:00.999999Z").ms).toBe(Date.parse("2019-01-01T00:00:00.999Z"));
    expect(parseChronoTimestamp("1969-12-31T23:59:59.5Z").ms).toBe(-500);
  });

  test("refused with chrono's messages", () => {
    expect(fails("2019-01-01")).toBe("input is not enough for unique date and time");
    expect(fails("2019-01-01X00:00:00Z")).toBe("input contains invalid characters");
    expect(fails("2019-01-01T00:00:00")).toBe("premature end of input");
    expect(fails("2019-01-01T00:00:00Zjunk")).toBe("trailing input");
    expect(fails("2019-13-01T00:00:00Z")).toBe("input is out of range");
    expect(fails("2019-02-29T00:00:00Z")).toBe("input is out of range");
    expect(fails("2019-01-01T24:00:00Z")).toBe("input is out of range");
    expect(fails("2019-01-01T00:00:60Z")).toBe("input is out of range");
    expect(fails("2019-01-01T00:00:00+0160")).toBe("input is out of range");
    expect(fails("2019-01-01T00:00:00+2400")).toBe("input is out of range");
    expect(fails("20190-01-01T00:00:00Z")).toBe("input contains invalid characters");
    expect(fails("")).toBe("premature end of input");
    expect(fails("1546300800")).toBe("input contains invalid characters");
  });

  test("the canonical-UTC fast path agrees with chrono's item parser on 20,000 generated timestamps, in range or not", () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const two = (max: number) => String(random(max)).padStart(2, "0");
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const year = String([random(10_000), 1970 + random(80), 2000 + random(30)][random(3)]).padStart(4, "0");
      const fraction = ["", `.${String(random(10 ** 9)).padStart(9, "0").slice(0, 1 + random(9))}`, ".000", ".5"][random(4)];
      const input = `${year}-${two(14)}-${two(33)}T${two(26)}:${two(62)}:${two(62)}${fraction}Z`;
      const quick = parseCanonicalUtc(input);
      let slow: unknown;
      try {
        slow = parseChronoItems(input);
      } catch (error) {
        slow = (error as Error).message;
      }
      if (quick === undefined) continue;
      fast += 1;
      expect({ input, parsed: quick }).toEqual({ input, parsed: slow as never });
    }
    // The generator puts most inputs in range: the fast path was really taken.
    expect(fast).toBeGreaterThan(5_000);
    expect(parseCanonicalUtc("2019-01-01T00:00:00+00:00")).toBeUndefined(); // offsets go the long way
  });

  test("formatChrono around the epoch and in far years", () => {
    expect(formatChrono(0, 0)).toBe("1970-01-01T00:00:00Z");
    expect(formatChrono(-1, 999_000_000)).toBe("1969-12-31T23:59:59.999Z");
    expect(formatChrono(Date.UTC(2000, 1, 29, 1, 2, 3) / 1000, 1_000)).toBe("2000-02-29T01:02:03.000001Z");
  });
});

describe("the outgoing body", () => {
  test("metadata goes between mail and the payload; --wrap-outgoing wraps the same bytes", () => {
    const n = parse(bounceNotification(["a@example.com"], { at: Date.parse("2019-01-01T00:00:00Z"), messageId: "m1" }));
    const body = outgoingNotification(n, 'flow "x"');
    expect(body).toContain(',"metadata":"flow \\"x\\"","bounce":{');
    expect(Object.keys(JSON.parse(body))).toEqual(["notificationType", "mail", "metadata", "bounce"]);
    const wrapped = wrapOutgoing(body);
    expect(Object.keys(JSON.parse(wrapped))).toEqual(["Type", "Message"]);
    expect(JSON.parse(wrapped)).toEqual({ Type: "Notification", Message: body });
  });

  test("strings are escaped as serde_json escapes them", () => {
    const n = parse(bounceNotification(["a@example.com"], { messageId: 'a"\\\u0001\n\u2028é🦀' }));
    expect(outgoingNotification(n)).toContain('"messageId":"a\\"\\\\\\u0001\\n\u2028é🦀"');
  });
});
