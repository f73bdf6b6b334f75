// Decoding an FxA account event from an SQS message body (spec/tokenserver.md §3.3–3.4).
//
// The rules of the original are kept: the body is an SNS notification whose `Message` is the event as a
// JSON string; `iss` present → email = "<uid>@<iss>" with Python str() of both; no `iss` → the uid must
// already be an email. Where the original crashed with a TypeError (a poison message), the input is
// invalid here: it is logged, counted and deleted, and nothing is written.
import { unwrapSnsEnvelope } from "../sqs/envelope.ts";
import { pythonStr } from "./python-text.ts";

export type AccountEvent =
  | { kind: "delete"; email: string }
  | { kind: "reset" | "passwordChange"; email: string; generation: bigint }
  | { kind: "unknown"; email: string; eventType: unknown }
  | { kind: "invalid"; reason: string };

const invalid = (reason: string): AccountEvent => ({ kind: "invalid", reason });

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false }; // the caller reports which layer was not JSON
  }
}

/** A JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

export function decodeAccountEvent(body: string | undefined): AccountEvent {
  const outer = parseJson(body ?? "");
  if (!outer.ok) return invalid("body is not JSON");
  if (!isObject(outer.value)) return invalid("body is not a JSON object");
  if (!("Message" in outer.value)) return invalid("'Message'");
  const envelope = unwrapSnsEnvelope(outer.value);
  if (envelope.kind !== "sns") return invalid("'Message' is not a string");
  const inner = parseJson(envelope.message);
  if (!inner.ok) return invalid("'Message' is not JSON");
  const event = inner.value;
  if (!isObject(event)) return invalid("'Message' is not a JSON object");
  if (!("event" in event)) return invalid("'event'");
  if (!("uid" in event)) return invalid("'uid'");

  let email: string;
  if ("iss" in event) {
    const uid = pythonStr(event.uid);
    const iss = pythonStr(event.iss);
    if (uid === undefined) return invalid("uid must be a string or an integer");
    if (iss === undefined) return invalid("iss must be a string");
    email = `${uid}@${iss}`;
  } else {
    if (typeof event.uid !== "string") return invalid("uid must be a string");
    if (!event.uid.includes("@")) return invalid("uid field does not contain issuer info");
    email = event.uid;
  }

  // PostgreSQL text cannot hold NUL; such an email can never match a row.
  if (email.includes("\u0000")) return invalid("uid contains a NUL character");

  const type = event.event;
  if (type === "delete") return { kind: "delete", email };
  if (type === "reset" || type === "passwordChange") {
    if (!("generation" in event)) return invalid("'generation'");
    const generation = event.generation;
    if (typeof generation !== "number" || !Number.isSafeInteger(generation)) {
      return invalid(`generation must be an integer, got ${JSON.stringify(generation)}`);
    }
    return { kind: type, email, generation: BigInt(generation) };
  }
  return { kind: "unknown", email, eventType: type };
}
