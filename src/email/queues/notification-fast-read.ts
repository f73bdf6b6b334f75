// The common SES notification read with JSON.parse, two to three times cheaper than the byte reader of
// notification.ts, which follows serde_json step by step so that a refused notification gets the
// original's error and position.
//
// Invariant: this answers only when the byte reader would accept the same text, note nothing, and read
// the same notification. Everything else (a field missing, null where required or of another type, a
// value the original would map and log, a struct written as an array, an out-of-range number) makes it
// answer undefined, and the byte reader decides, with serde_json's own words. JSON.parse is laxer than
// serde_json in three ways, each ruled out before the parsed value is trusted:
// - a repeated key: JSON.parse keeps the last, serde refuses a repeated field. Every string in the
//   text equal to a field name is counted (a literal `"name"`, since nothing but a \u escape can spell
//   a letter) and must match the strings of the parsed value equal to one: one more means a repeat;
// - lone surrogates: JSON.parse keeps them, serde refuses them, so no \u escapes and no lone surrogate;
// - a number too large for a double: JSON.parse gives Infinity, serde refuses it.
import { normalizeEmailAddress } from "../email-address.ts";
import { ChronoParseError, parseChronoTimestamp, type Timestamp } from "./chrono-time.ts";
import {
  BOUNCE_SUBTYPES,
  BOUNCE_TYPES,
  COMPLAINT_FEEDBACK_TYPES,
  NOTIFICATION_TYPES,
  type Bounce,
  type Complaint,
  type Delivery,
  type HeaderValue,
  type Mail,
  type SesNotification,
} from "./notification.ts";

// Every field of every struct the byte reader declares (repeating one of them is an error there).
const FIELD_NAMES = new Set([
  "notificationType", "mail", "bounce", "complaint", "delivery",
  "timestamp", "messageId", "source", "destination", "headers", "name", "value",
  "bounceType", "bounceSubType", "bouncedRecipients", "feedbackId", "emailAddress", "action", "status", "diagnosticCode",
  "complainedRecipients", "complaintFeedbackType", "recipients",
]);
const FIELD_NAME_TOKEN = new RegExp(`"(?:${[...FIELD_NAMES].join("|")})"`, "g");

/** Thrown inside this file only: "not the common case, ask the byte reader". */
const DECLINE = Symbol("decline");
function decline(): never {
  throw DECLINE;
}

type Json = Record<string, unknown>;

const isStruct = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const struct = (v: unknown): Json => (isStruct(v) ? v : decline());
const string = (v: unknown): string => (typeof v === "string" ? v : decline());
const listOf = <T>(v: unknown, read: (item: unknown) => T): T[] => (Array.isArray(v) ? v.map(read) : decline());
/** `Option<T>`: absent or null is None. */
const optional = <T>(v: unknown, read: (value: unknown) => T): T | undefined => (v === undefined || v === null ? undefined : read(v));
const oneOf = <T extends string>(list: readonly T[], v: unknown): T => ((list as readonly unknown[]).includes(v) ? (v as T) : decline());

function timestamp(v: unknown): Timestamp {
  try {
    return parseChronoTimestamp(string(v));
  } catch (error) {
    if (error instanceof ChronoParseError) decline();
    throw error;
  }
}

const emailAddress = (v: unknown): string => normalizeEmailAddress(string(v)) ?? decline();

function headerValue(v: unknown): HeaderValue {
  if (typeof v === "string") return v;
  return listOf(v, string);
}

function mail(v: unknown): Mail {
  const m = struct(v);
  const out: Mail = { timestamp: timestamp(m.timestamp), messageId: string(m.messageId) };
  const source = optional(m.source, string);
  const destination = optional(m.destination, (d) => listOf(d, string));
  const headers = optional(m.headers, (h) => listOf(h, (x) => {
    const header = struct(x);
    return { name: string(header.name), value: headerValue(header.value) };
  }));
  if (source !== undefined) out.source = source;
  if (destination !== undefined) out.destination = destination;
  if (headers !== undefined) out.headers = headers;
  return out;
}

function bouncedRecipient(v: unknown): string {
  const r = struct(v);
  for (const extra of [r.action, r.status, r.diagnosticCode]) optional(extra, string);
  return emailAddress(r.emailAddress);
}

function bounce(v: unknown): Bounce {
  const b = struct(v);
  return {
    bounceType: oneOf(BOUNCE_TYPES, b.bounceType),
    bounceSubType: oneOf(BOUNCE_SUBTYPES, b.bounceSubType),
    bouncedRecipients: listOf(b.bouncedRecipients, bouncedRecipient),
    timestamp: timestamp(b.timestamp),
    feedbackId: string(b.feedbackId),
  };
}

function complaint(v: unknown): Complaint {
  const c = struct(v);
  const out: Complaint = {
    complainedRecipients: listOf(c.complainedRecipients, (r) => emailAddress(struct(r).emailAddress)),
    timestamp: timestamp(c.timestamp),
    feedbackId: string(c.feedbackId),
  };
  const feedbackType = optional(c.complaintFeedbackType, (t) => oneOf(COMPLAINT_FEEDBACK_TYPES, t));
  if (feedbackType !== undefined) out.complaintFeedbackType = feedbackType;
  return out;
}

function delivery(v: unknown): Delivery {
  const d = struct(v);
  return { timestamp: timestamp(d.timestamp), recipients: listOf(d.recipients, emailAddress) };
}

/**
 * Walks the parsed value without recursion: the strings equal to a field name (keys and values), or
 * undefined when a number is not finite.
 */
function fieldNameStrings(root: unknown): number | undefined {
  let count = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (FIELD_NAMES.has(v)) count += 1;
    } else if (typeof v === "number") {
      if (!Number.isFinite(v)) return undefined;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === "object" && v !== null) {
      for (const key in v) {
        if (FIELD_NAMES.has(key)) count += 1;
        stack.push((v as Json)[key]);
      }
    }
  }
  return count;
}

/** The notification in `text` when it is the common case (see the invariant above), else undefined. */
export function readCommonNotification(text: string): SesNotification | undefined {
  if (text.includes("\\u") || !text.isWellFormed()) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const named = fieldNameStrings(parsed);
  if (named === undefined || named !== (text.match(FIELD_NAME_TOKEN)?.length ?? 0)) return undefined;
  try {
    const n = struct(parsed);
    const out: SesNotification = { notificationType: oneOf(NOTIFICATION_TYPES, n.notificationType), mail: mail(n.mail) };
    const b = optional(n.bounce, bounce);
    const c = optional(n.complaint, complaint);
    const d = optional(n.delivery, delivery);
    if (b !== undefined) out.bounce = b;
    if (c !== undefined) out.complaint = c;
    if (d !== undefined) out.delivery = d;
    return out;
  } catch (error) {
    if (error === DECLINE) return undefined;
    throw error;
  }
}
