// The JSON.parse reading of common notifications (src/email/queues/notification-fast-read.ts) against
// the byte reader that follows serde_json: whenever the fast reading answers, the byte reader accepts
// the same text, notes nothing, and reads the same notification. Driven by the vectors, by each way
// JSON.parse is laxer than serde_json, and by thousands of generated, mutated notifications.
import { describe, expect, test } from "bun:test";
import { parseSesNotification, type SesNotification } from "../../src/email/queues/notification.ts";
import { readCommonNotification } from "../../src/email/queues/notification-fast-read.ts";
import { bounceNotification, complaintNotification, deliveryNotification, sesVectors } from "../support/email-queues.ts";

const utf8 = new TextEncoder();

type Verdict = { ok: true; notification: SesNotification; notes: string[] } | { ok: false; error: string };

function byteReader(text: string): Verdict {
  const notes: string[] = [];
  try {
    return { ok: true, notification: parseSesNotification(utf8.encode(text), (n) => notes.push(n)), notes };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

/** The invariant; returns whether the fast reading answered. */
function agrees(text: string): boolean {
  const fast = readCommonNotification(text);
  if (fast === undefined) return false;
  const exact = byteReader(text);
  if (!exact.ok) throw new Error(`fast reading accepted what the byte reader refuses (${exact.error}): ${text.slice(0, 300)}`);
  expect(exact.notes).toEqual([]);
  expect(fast).toEqual(exact.notification);
  return true;
}

const REALISTIC_SES = JSON.stringify({
  notificationType: "Bounce",
  bounce: {
    feedbackId: "0100016e5a1b2c3d-aaaa-bbbb-cccc-000000000000-000000",
    bounceType: "Permanent",
    bounceSubType: "General",
    bouncedRecipients: [{ emailAddress: "Jane@Example.com", action: "failed", status: "5.1.1", diagnosticCode: "smtp; 550 5.1.1 user unknown" }],
    timestamp: "2019-11-12T10:15:23.614Z",
    remoteMtaIp: "203.0.113.7",
    reportingMTA: "dsn; a8-82.smtp-out.amazonses.com",
  },
  mail: {
    timestamp: "2019-11-12T10:15:22.000Z",
    source: "Firefox Accounts <accounts@firefox.com>",
    sourceArn: "arn:aws:ses:us-west-2:000000000000:identity/accounts@firefox.com",
    sourceIp: "198.51.100.1",
    sendingAccountId: "000000000000",
    messageId: "0100016e5a1b2c3d-1111-2222-3333-444444444444-000000",
    destination: ["jane@example.com"],
    headersTruncated: false,
    headers: [{ name: "From", value: "Firefox Accounts <accounts@firefox.com>" }, { name: "To", value: "jane@example.com" }, { name: "X-Template-Name", value: "verifyEmail" }],
    // SES repeats some field names here (messageId); they are ignored values, not repeats.
    commonHeaders: { from: ["Firefox Accounts <accounts@firefox.com>"], to: ["jane@example.com"], messageId: "<abc@firefox.com>", subject: "Verify" },
  },
});

describe("the common case is read fast", () => {
  test("a realistic SES bounce (extra SES fields, commonHeaders repeating a field name) is answered, and equals the byte reader's", () => {
    expect(agrees(REALISTIC_SES)).toBe(true);
  });

  test("every vector: where the fast reading answers, the byte reader agrees; it answers for most of the valid ones", () => {
    let valid = 0;
    let answered = 0;
    for (const vector of sesVectors()) {
      const body = vector.message.Body;
      if (!body) continue;
      let text: unknown;
      try {
        text = JSON.parse(body).Message;
      } catch {
        continue;
      }
      if (typeof text !== "string") continue;
      const exact = byteReader(text);
      if (exact.ok && exact.notes.length === 0) valid += 1;
      if (agrees(text)) answered += 1;
    }
    expect(valid).toBeGreaterThan(5);
    expect(answered).toBeGreaterThanOrEqual(valid - 2);
  });

  test("a field name as an ignored value or key is counted as such, not taken for a repeat", () => {
    const base = JSON.stringify(bounceNotification(["a@example.com"], { feedbackId: "fb" }));
    expect(agrees(base.replace('"feedbackId":"fb"', '"feedbackId":"fb","x":"mail","y":{"mail":["timestamp"]}'))).toBe(true);
  });

  test("the three test notifications of each type are answered", () => {
    for (const n of [bounceNotification(["a@example.com", "b@example.com"]), complaintNotification(["a@example.com"], { feedbackType: "abuse" }), deliveryNotification(["a@example.com"])]) {
      expect(agrees(JSON.stringify(n))).toBe(true);
    }
  });
});

describe("where JSON.parse is laxer than serde_json, the fast reading declines", () => {
  const base = JSON.stringify(bounceNotification(["a@example.com"], { feedbackId: "fb" }));
  // What the byte reader does with each: refuses it, reads it with a note, or (declined only because
  // it cannot be told apart cheaply) reads it.
  const cases: [string, string, "refused" | "noted" | "read"][] = [
    ["a repeated field (JSON.parse keeps the last)", base.replace('"feedbackId":"fb"', '"feedbackId":"fb","feedbackId":"other"'), "refused"],
    ["a repeated top-level field", base.replace('{"notificationType":"Bounce"', '{"notificationType":"Bounce","notificationType":"Bounce"'), "refused"],
    ["a repeat spelled with a \\u escape", base.replace('"feedbackId":"fb"', '"feedbackId":"fb","feedback\\u0049d":"other"'), "refused"],
    ["a lone surrogate escape", base.replace('"feedbackId":"fb"', '"feedbackId":"fb\\ud800"'), "refused"],
    ["a number too large for a double in an ignored field", base.replace('"feedbackId":"fb"', '"feedbackId":"fb","x":1e400'), "refused"],
    ["a 400-digit integer in an ignored field", base.replace('"feedbackId":"fb"', `"feedbackId":"fb","x":[-${"9".repeat(400)}]`), "refused"],
    ["a struct written as an array", JSON.stringify(["Bounce", { timestamp: "2019-01-01T00:00:00Z", messageId: "m" }]), "refused"],
    ["an unknown bounce type (the original noted it)", base.replace('"bounceType":"Permanent"', '"bounceType":"Hard"'), "noted"],
    ["a lone surrogate escape in an ignored field (serde skips it unread)", base.replace('"feedbackId":"fb"', '"feedbackId":"fb","x":"\\udc00"'), "read"],
  ];
  for (const [what, text, verdict] of cases) {
    test(what, () => {
      expect(text).not.toBe(base);
      expect(readCommonNotification(text)).toBeUndefined();
      const exact = byteReader(text);
      expect(exact.ok ? (exact.notes.length > 0 ? "noted" : "read") : "refused").toBe(verdict);
    });
  }
});

// ---- generated notifications ----------------------------------------------------------------------

let seed = 20261129;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const FIELD_NAMES = ["notificationType", "mail", "bounce", "complaint", "delivery", "timestamp", "messageId", "source", "destination", "headers", "name", "value", "bounceType", "bounceSubType", "bouncedRecipients", "feedbackId", "emailAddress", "action", "status", "diagnosticCode", "complainedRecipients", "complaintFeedbackType", "recipients"];
const ODD_VALUES: unknown[] = [
  null, 0, -1, 1.5, 1e300, true, false, "", " ", "x", [], ["x"], [1], {}, { a: 1 }, "Permanent", "mail", "timestamp", 'say "mail"', "é ✓ 𝄞", "\n\t",
  "\ud800", "a\udc00b", "Jane@Example.COM", "not an address", "2019-01-01T00:00:00Z", "2019-01-01 00:00:00 +0100", "2019-13-01T00:00:00Z", { emailAddress: "x@example.com" }, [[[[[]]]]],
];
const TEXT_INSERTS = [
  '"x":1e400,', '"x":"\\ud800",', '"x":"\\u0041",', '"y":[1,2,{"z":null}],', '"__proto__":{"a":1},', '"messageId":"dup",', '"timestamp":"2019-01-01T00:00:00Z",',
  '"mail":{},', '"x":"\\"mail\\"",', '"status":null,', '"value":["a","b"],', `"deep":${"[".repeat(60)}${"]".repeat(60)},`, '"x":-0,', '"x":123456789012345678901234567890,',
];

function aNotification(): Record<string, unknown> {
  const recipients = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => pick([`user${i}@example.com`, `User${i}@Example.COM`, `x.y+z${i}@sub.example.org`]));
  const options = { feedbackId: pick(["fb", "0100-abc", ""]), bounceType: pick(["Permanent", "Transient", "Undetermined"]), bounceSubType: pick(["General", "NoEmail", "MailboxFull", "Suppressed"]) };
  const n = pick([
    () => bounceNotification(recipients, options),
    () => complaintNotification(recipients.slice(0, 1), { feedbackType: pick(["abuse", "fraud", "virus"]) }),
    () => deliveryNotification(recipients),
  ])() as Record<string, any>;
  if (random() < 0.5) n.mail.headers = [{ name: "From", value: "a@example.com" }, { name: "To", value: pick(["b@example.com", ["b@example.com", "c@example.com"]]) }];
  if (random() < 0.3) n.mail.commonHeaders = { messageId: "<m@example.com>", subject: "s" };
  return n;
}

/** Every object inside `v` with its path. */
function objects(v: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(v)) for (const x of v) objects(x, out);
  else if (typeof v === "object" && v !== null) {
    out.push(v as Record<string, unknown>);
    for (const x of Object.values(v)) objects(x, out);
  }
  return out;
}

/** One to three changes: a field dropped, set to an odd value, renamed to another field's name, or text inserted into an object. */
function mutate(n: Record<string, unknown>): string {
  const copy = structuredClone(n);
  const changes = 1 + Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    const target = pick(objects(copy));
    const keys = Object.keys(target);
    const key = keys.length > 0 ? pick(keys) : "x";
    const r = random();
    if (r < 0.25) delete target[key];
    else if (r < 0.6) target[key] = structuredClone(pick(ODD_VALUES));
    else if (r < 0.8) target[pick(FIELD_NAMES)] = structuredClone(target[key] ?? pick(ODD_VALUES));
  }
  let text = JSON.stringify(copy);
  if (random() < 0.4) {
    const opens = [...text.matchAll(/\{(?=")/g)].map((m) => m.index!);
    if (opens.length > 0) {
      const at = pick(opens) + 1;
      text = text.slice(0, at) + pick(TEXT_INSERTS) + text.slice(at);
    }
  }
  return text;
}

describe("generated notifications", () => {
  test("3,000 valid ones: all answered fast, each equal to the byte reader's", () => {
    for (let i = 0; i < 3_000; i++) expect(agrees(JSON.stringify(aNotification()))).toBe(true);
  });

  test("6,000 mutated ones: whenever the fast reading answers, the byte reader agrees (and both paths are taken)", () => {
    let answered = 0;
    let declined = 0;
    for (let i = 0; i < 6_000; i++) {
      if (agrees(mutate(aNotification()))) answered += 1;
      else declined += 1;
    }
    expect(answered).toBeGreaterThan(500);
    expect(declined).toBeGreaterThan(2_000);
  });
});
