// RFC 5322 §3.6.8 field-name: printable US-ASCII except the colon. The /send parser refuses other header
// names with serde's message, and the providers' header policy refuses them again before writing a message.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

export function isFieldName(name: string): boolean {
  return FIELD_NAME.test(name);
}
