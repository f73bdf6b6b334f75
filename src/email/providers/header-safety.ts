// Our CR/LF policy. A subject or header value containing CR, LF or NUL is refused with InvalidPayload
// (400) before any provider builds a message, the same answer whichever provider is chosen: such a value
// was never a valid header (RFC 5322 §2.2), and refusing it is clearer to the caller than a silently
// rewritten one. Header names must be RFC 5322 field names. Addresses must be single bare addr-specs.
// The SES MIME writer additionally encodes any other control character, so it is safe on its own.
import { invalidPayload } from "../errors.ts";
import { isFieldName } from "../field-name.ts";
import type { OutgoingEmail } from "./provider.ts";

const BREAKS_A_LINE = /[\r\n\0]/;
/** Anything that would end an address early or start a second one inside an address header. */
const NOT_IN_AN_ADDRESS = /[\s\0-\x1f\x7f<>(),;:"[\]\\]/;

export type AddressRole = "from" | "to" | "cc";

/** Throws the original's `` `to` address "…" `` message for an address that is not one bare addr-spec. */
export function checkAddress(role: AddressRole, address: string): void {
  const at = address.lastIndexOf("@");
  if (at < 1 || at === address.length - 1 || NOT_IN_AN_ADDRESS.test(address)) {
    throw invalidPayload(`\`${role}\` address ${JSON.stringify(address)}`);
  }
}

/** Applies the policy above to everything of a request that ends up in a header. */
export function checkHeaderSafety(email: OutgoingEmail): void {
  if (BREAKS_A_LINE.test(email.subject)) throw invalidPayload("subject contains CR, LF or NUL");
  for (const [name, value] of Object.entries(email.headers)) {
    if (!isFieldName(name)) throw invalidPayload(`header name ${JSON.stringify(name)} is not a valid field name`);
    if (typeof value !== "string") throw invalidPayload(`header \`${name}\` must be a string`);
    if (BREAKS_A_LINE.test(value)) throw invalidPayload(`header \`${name}\` contains CR, LF or NUL`);
  }
  checkAddress("to", email.to);
  for (const cc of email.cc) checkAddress("cc", cc);
}
