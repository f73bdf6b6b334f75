// SES timestamps as the original read and wrote them (spec/email.md §9.3, §9.5): parsed like chrono's
// `DateTime<FixedOffset>::from_str` (chrono 0.4.23) and written like chrono's Debug rendering of a
// `DateTime<Utc>`: `2016-01-27T14:05:45Z`, `2012-05-25T14:59:38.605Z`, with 3, 6 or 9 fraction digits
// (none when zero), offsets converted to UTC.
//
// The parser follows chrono's items: year `-` month `-` day, then `T` or a space, then hour `:` minute
// `:` second, an optional `.fraction` (1-9 digits kept, more ignored), and an offset (`Z`, `UTC`, or
// `±HH[:]MM`), with whitespace allowed between components and at the end, and 1-digit months, days,
// hours, minutes and seconds accepted. Errors carry chrono's wording. One deliberate difference: a
// leap second (`:60`) is refused as out of range, since nothing downstream can represent it.

export interface Timestamp {
  /** ms since the epoch, rounded down. */
  readonly ms: number;
  /** The UTC rendering, chrono's Debug format. */
  readonly text: string;
}

const OUT_OF_RANGE = "input is out of range";
const NOT_ENOUGH = "input is not enough for unique date and time";
const INVALID = "input contains invalid characters";
const TOO_SHORT = "premature end of input";
const TOO_LONG = "trailing input";

export class ChronoParseError extends Error {
  override name = "ChronoParseError";
}

// Rust's char::is_whitespace (the Unicode White_Space property).
const WHITESPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
const trimLeft = (s: string) => s.replace(WHITESPACE, "");

// chrono's NaiveDate range.
const MIN_YEAR = -262144;
const MAX_YEAR = 262143;

/** chrono's scan::number: min..max ASCII digits. Returns [rest, value]. */
function number(s: string, min: number, max: number): [string, number] {
  if (s.length < min) throw new ChronoParseError(TOO_SHORT);
  let n = 0;
  let i = 0;
  for (; i < Math.min(max, s.length); i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) {
      if (i < min) throw new ChronoParseError(INVALID);
      return [s.slice(i), n];
    }
    n = n * 10 + (c - 0x30);
    if (n > Number.MAX_SAFE_INTEGER) throw new ChronoParseError(OUT_OF_RANGE);
  }
  return [s.slice(i), n];
}

function literal(s: string, prefix: string): string {
  if (s.length < prefix.length) throw new ChronoParseError(TOO_SHORT);
  if (!s.startsWith(prefix)) throw new ChronoParseError(INVALID);
  return s.slice(prefix.length);
}

function year(input: string): [string, number] {
  const s = trimLeft(input);
  if (s.startsWith("-")) {
    const [rest, v] = number(s.slice(1), 1, Infinity);
    return [rest, -v];
  }
  if (s.startsWith("+")) return number(s.slice(1), 1, Infinity);
  return number(s, 1, 4); // without a sign, at most 4 digits
}

const twoDigits = (s: string) => number(trimLeft(s), 1, 2);

/** ±HH[:]MM after `Z`/`UTC` did not match; returns [rest, offset seconds]. */
function offset(input: string): [string, number] {
  let s = trimLeft(input);
  const first = s[0];
  if (first === "z" || first === "Z") return [s.slice(1), 0];
  if (first === "u" || first === "U") {
    if (s.length >= 3 && s.slice(1, 3).toLowerCase() === "tc") return [s.slice(3), 0];
    throw new ChronoParseError(INVALID);
  }
  if (first === undefined) throw new ChronoParseError(TOO_SHORT);
  if (first !== "+" && first !== "-") throw new ChronoParseError(INVALID);
  const negative = first === "-";
  s = s.slice(1);
  if (s.length < 2) throw new ChronoParseError(TOO_SHORT);
  if (!/^[0-9]{2}/.test(s)) throw new ChronoParseError(INVALID);
  const hours = Number(s.slice(0, 2));
  s = s.slice(2).replace(/^[:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u, "");
  if (s.length < 2) throw new ChronoParseError(TOO_SHORT);
  if (/^[6-9][0-9]/.test(s)) throw new ChronoParseError(OUT_OF_RANGE);
  if (!/^[0-5][0-9]/.test(s)) throw new ChronoParseError(INVALID);
  const minutes = Number(s.slice(0, 2));
  const seconds = hours * 3600 + minutes * 60;
  return [s.slice(2), negative ? -seconds : seconds];
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (y: number, mo: number) => (mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1]!);

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** chrono's Debug rendering of a UTC instant given as whole seconds since the epoch and nanoseconds. */
export function formatChrono(epochSeconds: number, nanos: number): string {
  const days = Math.floor(epochSeconds / 86400);
  const secondOfDay = epochSeconds - days * 86400;
  const [y, m, d] = civilFromDays(days);
  const yearText = y >= 0 && y <= 9999 ? pad(y, 4) : `${y < 0 ? "-" : "+"}${pad(Math.abs(y), 4)}`;
  const time = `${pad(Math.floor(secondOfDay / 3600), 2)}:${pad(Math.floor((secondOfDay % 3600) / 60), 2)}:${pad(secondOfDay % 60, 2)}`;
  return `${yearText}-${pad(m, 2)}-${pad(d, 2)}T${time}${chronoFraction(nanos)}Z`;
}

/** chrono's fraction of a second: none when zero, else 3, 6 or 9 digits, the fewest that are exact. */
function chronoFraction(nanos: number): string {
  if (nanos === 0) return "";
  if (nanos % 1_000_000 === 0) return `.${pad(nanos / 1_000_000, 3)}`;
  if (nanos % 1_000 === 0) return `.${pad(nanos / 1_000, 6)}`;
  return `.${pad(nanos, 9)}`;
}

/** Parses `text` as chrono would; throws ChronoParseError with chrono's message. */
export function parseChronoTimestamp(text: string): Timestamp {
  return parseCanonicalUtc(text) ?? parseChronoItems(text);
}

// What SES sends: `2016-01-27T14:05:45.605Z`. Matched here without the item-by-item walk below (which
// cost a few percent of email-queues' CPU); anything else, or out of range, goes the long way.
const CANONICAL_UTC = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$/;

/** The canonical UTC form only (years 1000-9999, every field in range); undefined for anything else. */
export function parseCanonicalUtc(text: string): Timestamp | undefined {
  const m = CANONICAL_UTC.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])];
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return undefined;
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, "0"));
  // Already UTC with four-digit years and two-digit fields: chrono's rendering keeps the first 19 characters.
  return { ms: Date.UTC(y, mo - 1, d, h, mi, sec) + Math.floor(nanos / 1_000_000), text: `${text.slice(0, 19)}${chronoFraction(nanos)}Z` };
}

/** chrono's parser, item by item: every form it accepts, and its errors. */
export function parseChronoItems(text: string): Timestamp {
  // Date: year - month - day, and then something must follow.
  let s = text;
  let y: number, mo: number, d: number;
  [s, y] = year(s);
  s = literal(trimLeft(s), "-");
  [s, mo] = twoDigits(s);
  s = literal(trimLeft(s), "-");
  [s, d] = twoDigits(s);
  if (s.length === 0) throw new ChronoParseError(NOT_ENOUGH);
  if (s[0] !== "T" && s[0] !== " ") throw new ChronoParseError(INVALID);
  s = s.slice(1);
  let h: number, mi: number, sec: number;
  [s, h] = twoDigits(s);
  s = literal(trimLeft(s), ":");
  [s, mi] = twoDigits(s);
  s = literal(trimLeft(s), ":");
  [s, sec] = twoDigits(s);
  let nanos = 0;
  if (s.startsWith(".")) {
    const before = s.length - 1;
    let digits: number;
    [s, digits] = number(s.slice(1), 1, 9);
    nanos = digits * 10 ** (9 - (before - s.length));
    s = s.replace(/^[0-9]+/, ""); // digits past the ninth are ignored
  }
  let offsetSeconds: number;
  [s, offsetSeconds] = offset(trimLeft(s));
  if (trimLeft(s).length > 0) throw new ChronoParseError(TOO_LONG);

  if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12) throw new ChronoParseError(OUT_OF_RANGE);
  if (d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) throw new ChronoParseError(OUT_OF_RANGE);
  if (Math.abs(offsetSeconds) >= 86400) throw new ChronoParseError(OUT_OF_RANGE);
  const epochSeconds = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offsetSeconds;
  const [utcYear] = civilFromDays(Math.floor(epochSeconds / 86400));
  if (utcYear < MIN_YEAR || utcYear > MAX_YEAR) throw new ChronoParseError(OUT_OF_RANGE);
  return { ms: epochSeconds * 1000 + Math.floor(nanos / 1_000_000), text: formatChrono(epochSeconds, nanos) };
}
