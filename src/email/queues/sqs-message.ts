// Turning one SQS message into an SES notification, in the original's order (spec/email.md §9.2):
// body present, MD5 matching, receipt handle present, body JSON, `Message` a string (SNS envelope),
// then the notification itself (§9.3) and its payload matching its type (§9.4). Every failure is the
// original's `Invalid notification: …` text; what happens to such a message is the caller's policy.
import { hash } from "node:crypto";
import type { Message } from "@aws-sdk/client-sqs";
import { unwrapSnsEnvelope } from "../../sqs/envelope.ts";
import { rustDebugString, SerdeError, SerdeJsonReader } from "../serde-json.ts";
import { parseSesNotification, payloadError, type MappingNote, type SesNotification } from "./notification.ts";
import { readCommonNotification } from "./notification-fast-read.ts";

export type QueueItem = { kind: "notification"; notification: SesNotification } | { kind: "invalid"; reason: string };

const utf8 = new TextEncoder();

/** serde_json's Debug rendering of an error: `Error("expected ident", line: 1, column: 2)`. */
export function serdeDebug(error: SerdeError): string {
  return `Error(${rustDebugString(error.description)}, line: ${error.line}, column: ${error.column})`;
}

const invalid = (detail: string): QueueItem => ({ kind: "invalid", reason: `Invalid notification: ${detail}` });

/** The serde_json syntax error of a body JSON.parse refused (JSON.parse is the fast path; this only words the error). */
function bodySyntaxError(body: string, fallback: unknown): string {
  try {
    const reader = new SerdeJsonReader(utf8.encode(body));
    reader.ignoreValue();
    reader.end();
  } catch (error) {
    if (error instanceof SerdeError) return serdeDebug(error);
  }
  // serde_json would have read it (nesting too deep for this runtime's JSON.parse, say).
  return (fallback as Error)?.message ?? String(fallback);
}

/** The notification inside an SNS envelope's `Message`, checked against its type; or why not. */
export function decodeNotificationText(text: string, note?: MappingNote): QueueItem {
  let notification: SesNotification;
  try {
    // The common case costs a JSON.parse; anything else gets the byte reader's exact verdict.
    notification = readCommonNotification(text) ?? parseSesNotification(utf8.encode(text), note);
  } catch (error) {
    if (error instanceof SerdeError) return invalid(serdeDebug(error));
    return invalid((error as Error)?.message ?? String(error));
  }
  const missing = payloadError(notification);
  return missing ? invalid(missing) : { kind: "notification", notification };
}

/** Total: every message becomes a notification or an invalid item with the reason. */
export function decodeSqsMessage(message: Message, queueUrl: string, note?: MappingNote): QueueItem {
  const body = message.Body;
  if (!body) return invalid(`missing body from ${queueUrl}`);
  if (message.MD5OfBody && message.MD5OfBody !== hash("md5", body, "hex")) return invalid(`MD5 hash mismatch from ${queueUrl}`);
  if (!message.ReceiptHandle) return invalid(`missing receipt_handle from ${queueUrl}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return invalid(bodySyntaxError(body, error));
  }
  const envelope = unwrapSnsEnvelope(parsed);
  if (envelope.kind !== "sns") return invalid(`unparseable message from ${queueUrl}`);
  return decodeNotificationText(envelope.message, note);
}
