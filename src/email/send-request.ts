// The body of POST /send (spec/email.md §1.2), parsed with serde's rules and messages: unknown fields
// ignored, optional fields absent or null, wrong types and duplicate fields refused, addresses
// normalised. We refuse more than the original in one place: control characters (CR/LF above all)
// in the subject and in header names or values, so a caller cannot inject headers into the message.
import { normalizeEmailAddress, stripDisplayName } from "./email-address.ts";
import { EmailError } from "./errors.ts";
import { isFieldName } from "./field-name.ts";
import { invalidValue, SerdeError, SerdeJsonReader, type StructField } from "./serde-json.ts";

export interface SendRequest {
  /** Normalised (spec/email.md §1.3). */
  to: string;
  /** Normalised; empty when absent or null. */
  cc: string[];
  subject: string;
  text: string;
  /** Present (possibly "") when the request had an html body. */
  html?: string;
  /** Empty when absent or null. */
  headers: Record<string, string>;
  /** The provider asked for, unparsed: resolving it (and refusing unknown names) comes after the bounce check. */
  provider?: string;
  /** Opaque caller data stored against the message id (spec/email.md §7). */
  metadata?: string;
}

// Everything below 0x20 except TAB, and DEL.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

function readEmailAddress(reader: SerdeJsonReader): string {
  const raw = reader.readString();
  const normalised = normalizeEmailAddress(raw);
  if (normalised === undefined) throw invalidValue({ kind: "string", value: stripDisplayName(raw) }, "email address");
  return normalised;
}

function readHeaderSafeString(reader: SerdeJsonReader, expected: string): string {
  const value = reader.readString();
  if (CONTROL.test(value)) throw invalidValue({ kind: "string", value }, expected);
  return value;
}

function checkHeaderName(name: string): void {
  if (!isFieldName(name)) throw invalidValue({ kind: "string", value: name }, "a header name");
}

function readBody(reader: SerdeJsonReader): { text: string; html?: string } {
  const fields: StructField[] = [
    { name: "text", optional: false, read: () => reader.readString() },
    { name: "html", optional: true, read: () => reader.readOption(() => reader.readString()) },
  ];
  const values = reader.readStruct("Body", fields);
  const html = values.get("html") as string | undefined;
  return html === undefined ? { text: values.get("text") as string } : { text: values.get("text") as string, html };
}

/** Parses a /send body; throws EmailError InvalidPayload (400, errno 102) with serde's message. */
export function parseSendRequest(bytes: Uint8Array): SendRequest {
  const reader = new SerdeJsonReader(bytes);
  const fields: StructField[] = [
    { name: "to", optional: false, read: () => readEmailAddress(reader) },
    { name: "cc", optional: true, read: () => reader.readOption(() => reader.readSeq(() => readEmailAddress(reader))) },
    {
      name: "headers",
      optional: true,
      read: () => reader.readOption(() => reader.readMap(() => readHeaderSafeString(reader, "a header value without control characters"), checkHeaderName)),
    },
    { name: "subject", optional: false, read: () => readHeaderSafeString(reader, "a subject without control characters") },
    { name: "body", optional: false, read: () => readBody(reader) },
    { name: "provider", optional: true, read: () => reader.readOption(() => reader.readString()) },
    { name: "metadata", optional: true, read: () => reader.readOption(() => reader.readString()) },
  ];
  try {
    const values = reader.readStruct("Email", fields);
    reader.end();
    const body = values.get("body") as { text: string; html?: string };
    const headers = values.get("headers") as Record<string, string> | undefined;
    const request: SendRequest = {
      to: values.get("to") as string,
      cc: (values.get("cc") as string[] | undefined) ?? [],
      subject: values.get("subject") as string,
      text: body.text,
      headers: headers ?? {},
    };
    if (body.html !== undefined) request.html = body.html;
    const provider = values.get("provider") as string | undefined;
    if (provider !== undefined) request.provider = provider;
    const metadata = values.get("metadata") as string | undefined;
    if (metadata !== undefined) request.metadata = metadata;
    return request;
  } catch (error) {
    if (error instanceof SerdeError) throw new EmailError("InvalidPayload", error.toString());
    throw error;
  }
}
