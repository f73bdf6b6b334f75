// Email addresses as the original parses them (spec/email.md §1.3): a display name is dropped, the
// rest is trimmed, validated and lower-cased. The normalised form is what is checked and sent.

// Local part: up to 64 code points of letters, digits and the RFC 5322 atext symbols; domain: ASCII
// labels with at least one dot. The apostrophe is U+0027 (the original once had U+2019 by mistake).
const ADDRESS = /^[a-zA-Z0-9.\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]{1,64}@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,253}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,253}[a-zA-Z0-9])?)+$/u;
const MAX_BYTES = 254;
const utf8 = new TextEncoder();

/** The validator alone: no display-name stripping, no trimming (the config validator of §12.14). */
export function isValidEmailAddress(value: string): boolean {
  return utf8.encode(value).length < MAX_BYTES && ADDRESS.test(value);
}

/** The text the original validates: the part between the first `<` and the last `>` if any, trimmed. */
export function stripDisplayName(value: string): string {
  const open = value.indexOf("<");
  const close = value.lastIndexOf(">");
  const inner = open !== -1 && close !== -1 && open < close ? value.slice(open + 1, close) : value;
  return inner.trim();
}

/** The normalised address, or undefined when `value` is not an email address. */
export function normalizeEmailAddress(value: string): string | undefined {
  const candidate = stripDisplayName(value);
  return isValidEmailAddress(candidate) ? candidate.toLowerCase() : undefined;
}
