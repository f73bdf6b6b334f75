// The raw MIME message the SES provider sends (spec/email.md §4.2). Written by hand rather than with a
// library because the upstream tests pin every line of the layout by index:
//
//   Sender, From, To, Subject, MIME-Version, [Cc], [allow-listed headers],
//   multipart/mixed → multipart/alternative → text/plain (quoted-printable)
//                                           [→ multipart/related → text/html (base64)]
//
// Lines end in CRLF. Header text that is not plain printable ASCII (or would not fit a 998-octet line, or
// looks like an encoded-word) goes out as RFC 2047 encoded-words, folded, so no value can ever start a
// header line of its own. No Date or Message-ID: SES adds them.
import { Buffer } from "node:buffer";
import { checkAddress } from "./providers/header-safety.ts";
import type { Sender } from "./providers/provider.ts";

/** The request headers SES passes on, in their canonical spelling; every other header is dropped. */
export const SES_HEADER_ALLOW_LIST = [
  "Content-Language",
  "X-Device-Id",
  "X-Email-Sender",
  "X-Email-Service",
  "X-Flow-Begin-Time",
  "X-Flow-Id",
  "X-Link",
  "X-Recovery-Code",
  "X-Report-Signin-Link",
  "X-Service-Id",
  "X-SES-CONFIGURATION-SET",
  "X-SES-MESSAGE-TAGS",
  "X-Signin-Verify-Code",
  "X-Template-Name",
  "X-Template-Version",
  "X-Uid",
  "X-Unblock-Code",
  "X-Verify-Code",
  "X-Verify-Short-Code",
] as const;
export type SesHeaderName = (typeof SES_HEADER_ALLOW_LIST)[number];

/** RFC 5322 §2.1.1: a line is at most 998 octets before its CRLF. */
export const MAX_LINE_LENGTH = 998;

const CANONICAL = new Map<string, SesHeaderName>(SES_HEADER_ALLOW_LIST.map((name) => [name.toLowerCase(), name]));

/** The canonical name of an allow-listed header (matched case-insensitively), else undefined. */
export function sesHeaderName(name: string): SesHeaderName | undefined {
  return CANONICAL.get(name.toLowerCase());
}

/**
 * Cuts a header value so that `Name: value` fits one line (mozilla/fxa 1.182: `998 - len(name) - 2`).
 * ASCII is cut by character; anything else by UTF-8 octets, never inside a character.
 */
export function truncateHeaderValue(name: string, value: string): string {
  const limit = Math.max(0, MAX_LINE_LENGTH - name.length - 2);
  if (isAscii(value)) return value.slice(0, limit);
  let octets = 0;
  let end = 0;
  for (const ch of value) {
    octets += utf8Length(ch);
    if (octets > limit) break;
    end += ch.length;
  }
  return value.slice(0, end);
}

export interface MimeMessage {
  sender: Sender;
  to: string;
  cc: readonly string[];
  /** Request headers; only allow-listed ones are written. */
  headers: Readonly<Record<string, string>>;
  subject: string;
  text: string;
  /** Present (possibly "") → a multipart/related html part follows the text part. */
  html?: string;
}

export interface MimeOptions {
  /** Returns a fresh boundary on each call (three per message); tests pin them. */
  boundary?: () => string;
}

/** Builds the whole message. Throws InvalidPayload for an address that is not one bare addr-spec. */
export function buildMultipartMime(message: MimeMessage, options: MimeOptions = {}): string {
  const nextBoundary = options.boundary ?? randomBoundary;
  const mailbox = formatMailbox(message.sender);
  checkAddress("to", message.to);
  for (const cc of message.cc) checkAddress("cc", cc);

  const lines = [
    `Sender: ${mailbox}`,
    `From: ${mailbox}`,
    `To: ${message.to}`,
    `Subject: ${encodeHeaderText(message.subject, "Subject".length)}`,
    "MIME-Version: 1.0",
  ];
  if (message.cc.length > 0) lines.push(formatAddressList("Cc", message.cc));
  for (const [name, value] of allowListedHeaders(message.headers)) {
    lines.push(`${name}: ${encodeHeaderText(truncateHeaderValue(name, value), name.length)}`);
  }

  const mixed = nextBoundary();
  const alternative = nextBoundary();
  lines.push(
    `Content-Type: multipart/mixed; boundary="${mixed}"`,
    "",
    `--${mixed}`,
    `Content-Type: multipart/alternative; boundary="${alternative}"`,
    "",
    `--${alternative}`,
    "Content-Transfer-Encoding: quoted-printable",
    "Content-Type: text/plain; charset=utf-8",
    "",
    encodeQuotedPrintable(message.text),
  );
  if (message.html !== undefined) {
    const related = nextBoundary();
    lines.push(
      `--${alternative}`,
      `Content-Type: multipart/related; boundary="${related}"`,
      "",
      `--${related}`,
      "Content-Transfer-Encoding: base64",
      "Content-Type: text/html; charset=utf-8",
      "",
      encodeBase64Lines(message.html),
      `--${related}--`,
    );
  }
  lines.push(`--${alternative}--`, `--${mixed}--`, "");
  return lines.join("\r\n");
}

/** "=_" can never occur in quoted-printable (which writes "=" as "=3D") nor in base64, so no part can end early. */
export function randomBoundary(): string {
  return `=_${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex")}`;
}

/** Allow-listed headers with canonical names; one per name (the last spelling given wins). */
function allowListedHeaders(headers: Readonly<Record<string, string>>): [SesHeaderName, string][] {
  const picked = new Map<SesHeaderName, string>();
  for (const [name, value] of Object.entries(headers)) {
    const canonical = sesHeaderName(name);
    if (canonical) picked.set(canonical, value);
  }
  return [...picked];
}

/** `Name <address>`; the name as an atom phrase, a quoted string, or encoded-words, whichever it needs. */
export function formatMailbox(sender: Sender): string {
  checkAddress("from", sender.address);
  const name = sender.name;
  if (name === "") return sender.address;
  if (ATOM_PHRASE.test(name) && !name.includes("=?")) return `${name} <${sender.address}>`;
  if (PRINTABLE_ASCII.test(name) && name.length < 200) return `"${name.replace(/["\\]/g, "\\$&")}" <${sender.address}>`;
  return `${encodedWords(name).join(FOLD)} <${sender.address}>`;
}

/** A header value as written after `Name: `: verbatim when that is safe, else folded encoded-words. */
export function encodeHeaderText(value: string, nameLength: number): string {
  const fits = nameLength + 2 + value.length <= MAX_LINE_LENGTH;
  if (fits && PRINTABLE_TEXT.test(value) && !LOOKS_ENCODED.test(value)) return value;
  return encodedWords(value).join(FOLD);
}

/** RFC 2045 §6.7 quoted-printable of UTF-8 text; line breaks become CRLF, lines stay within 76 characters. */
export function encodeQuotedPrintable(text: string): string {
  return text.split(/\r\n|\r|\n/).map(encodeQuotedPrintableLine).join("\r\n");
}

/** Base64 in 76-character lines (RFC 2045 §6.8). */
export function encodeBase64Lines(text: string): string {
  const encoded = Buffer.from(text, "utf8").toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
  return lines.join("\r\n");
}

const FOLD = "\r\n ";
const ATOM_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** RFC 5322 unstructured text: VCHAR and WSP only. */
const PRINTABLE_TEXT = /^[\x20-\x7e\t]*$/;
/** A literal that a reader would decode as an encoded-word; we encode it so it arrives as written. */
const LOOKS_ENCODED = /=\?[^?]*\?[bBqQ]\?[^?]*\?=/;
/** 45 octets → 60 base64 characters → a 72-character encoded-word, within RFC 2047's 75. */
const WORD_OCTETS = 45;

/** RFC 2047 B encoded-words, each holding whole characters (a word may not end inside one). */
function encodedWords(value: string): string[] {
  const words: string[] = [];
  let chunk = "";
  let octets = 0;
  for (const ch of value) {
    const size = utf8Length(ch);
    if (octets + size > WORD_OCTETS && chunk !== "") {
      words.push(encodedWord(chunk));
      chunk = "";
      octets = 0;
    }
    chunk += ch;
    octets += size;
  }
  words.push(encodedWord(chunk));
  return words;
}

function encodedWord(text: string): string {
  return `=?UTF-8?B?${Buffer.from(text, "utf8").toString("base64")}?=`;
}

function encodeQuotedPrintableLine(line: string): string {
  const bytes = Buffer.from(line, "utf8");
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const last = i === bytes.length - 1;
    const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
    const token = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
    // 75 + the soft break "=" = 76; an =XX token is never split.
    if (current.length + token.length > 75) {
      out.push(`${current}=`);
      current = "";
    }
    current += token;
  }
  out.push(current);
  return out.join("\r\n");
}

/** `Cc: a, b, …`, folded before a line would pass 78 characters. */
function formatAddressList(name: string, addresses: readonly string[]): string {
  let line = `${name}: ${addresses[0]}`;
  const lines: string[] = [];
  for (const address of addresses.slice(1)) {
    if (line.length + 2 + address.length > 78) {
      lines.push(`${line},`);
      line = ` ${address}`;
    } else {
      line += `, ${address}`;
    }
  }
  lines.push(line);
  return lines.join("\r\n");
}

function isAscii(value: string): boolean {
  return /^[\0-\x7f]*$/.test(value);
}

function utf8Length(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp >= 0xd800 && cp <= 0xdfff) return 3; // a lone surrogate is written as U+FFFD
  return cp < 0x10000 ? 3 : 4;
}
