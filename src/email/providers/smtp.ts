// SMTP (spec/email.md §4.5) through a nodemailer transport (clients.ts says how it connects: unlike the
// original, configured credentials are used, and only over an encrypted connection).
// Every request header is added as given (after the CR/LF policy), except the ones that make up the
// message's own structure, which a caller could otherwise use to re-address or re-shape it. Subject and
// header values are written by our own header-text rules (src/email/mime.ts), as for SES. nodemailer
// writes no header whose value is empty or blank, so an empty subject leaves the message without one.
import { Buffer } from "node:buffer";
import { invalidPayload } from "../errors.ts";
import { encodeHeaderText } from "../mime.ts";
import { runProviderCall, type ProviderDeps } from "./call.ts";
import type { SmtpTransport } from "./clients.ts";
import { checkAddress, checkHeaderSafety } from "./header-safety.ts";
import type { EmailProvider, Sender } from "./provider.ts";

/** Headers the message structure owns (lower case). */
export const RESERVED_SMTP_HEADERS: ReadonlySet<string> = new Set([
  "from",
  "sender",
  "to",
  "cc",
  "bcc",
  "subject",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
]);

export interface SmtpProviderDeps extends ProviderDeps {
  /** Built by createSmtpTransport (clients.ts) in the composition root. */
  transport: SmtpTransport;
}

export function createSmtpProvider(config: { sender: Sender }, deps: SmtpProviderDeps): EmailProvider {
  checkAddress("from", config.sender.address);
  const { transport } = deps;

  return {
    name: "smtp",
    send: (email, options) =>
      runProviderCall("smtp", deps, options, async (signal) => {
        checkHeaderSafety(email);
        const headers = Object.entries(email.headers).map(([key, value]) => {
          if (RESERVED_SMTP_HEADERS.has(key.toLowerCase())) throw invalidPayload(`header \`${key}\` is reserved`);
          return prepared(key, value);
        });
        headers.unshift(prepared("Subject", email.subject));
        const info = await transport.sendMail({
          from: { name: config.sender.name, address: config.sender.address },
          to: email.to,
          cc: email.cc.length > 0 ? email.cc : undefined,
          text: bodyPart(email.text),
          html: email.html === undefined ? undefined : bodyPart(email.html),
          headers,
          signal,
        });
        if (info.rejected.length > 0) {
          // The server took the message for the other recipients; failing now would make the caller
          // send it to them twice.
          deps.log.warn("SMTP server rejected some recipients", { rejected: info.rejected.join(", "), response: info.response });
        }
        return replyCode(info.response);
      }),
  };
}

/**
 * A header written with the SES writer's rules (verbatim when plain printable ASCII, else folded RFC 2047
 * words), so both providers treat text alike; nodemailer would pass a literal `=?UTF-8?Q?=0D=0A?=` on
 * as is, and a reader would decode it into a line break.
 */
function prepared(key: string, value: string) {
  return { key, value: { prepared: true, value: encodeHeaderText(value, key.length) } };
}

/** nodemailer skips an empty string body; an empty buffer still gets its (empty) part, as in the original. */
function bodyPart(value: string): string | { content: Buffer } {
  return value === "" ? { content: Buffer.alloc(0) } : value;
}

/** The original's message id: the code of the server's final reply ("250 2.0.0 Ok: queued" → "250"). */
export function replyCode(response: string): string {
  return /^\d{3}/.exec(response)?.[0] ?? response.trim().split(/\s/)[0] ?? "";
}
