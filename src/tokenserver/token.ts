// tokenlib 2.0.0-compatible tokens (spec §5.1) plus the kid/token-data helpers of delete_service_data
// (§4.3). Storage nodes recompute the HMAC over the exact payload bytes and the derived secret over the
// exact token text, so every byte here has to match what Python's tokenlib would have produced.
// Time and randomness come in through parameters; defaults are taken only when the caller leaves them out.
import { Buffer } from "node:buffer";
import { randomBytes, timingSafeEqual, createHmac } from "node:crypto";
import { hkdf } from "./hkdf.ts";

const SIGNING_INFO = "services.mozilla.com/tokenlib/v1/signing";
const DERIVE_INFO = "services.mozilla.com/tokenlib/v1/derive/";
const SIG_LEN = 32;
export const DEFAULT_TIMEOUT = 300;

// ---- errors ------------------------------------------------------------------------------------

/** Base of tokenlib's errors (all ValueError subclasses in Python). */
export class TokenError extends Error {
  override name = "TokenError";
}
export class MalformedTokenError extends TokenError {
  override name = "MalformedTokenError";
}
export class InvalidSignatureError extends TokenError {
  override name = "InvalidSignatureError";
}
export class ExpiredTokenError extends TokenError {
  override name = "ExpiredTokenError";
}
/** binascii.Error from unhexlify(client_state): not retryable, purge classifies it as "unknown". */
export class InvalidClientStateError extends Error {
  override name = "InvalidClientStateError";
}

// ---- Python json.dumps -------------------------------------------------------------------------

/** Forces Python float formatting for a value (a JS number that is an integer would print as an int). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type PyJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | readonly PyJsonValue[]
  | { readonly [key: string]: PyJsonValue };

export type TokenData = { readonly [key: string]: PyJsonValue } | ReadonlyMap<string, PyJsonValue>;

/** Python float.__repr__ (what json.dumps uses): shortest round-trip digits, ".0" when integral,
 * exponent form when the decimal point is more than 16 places right or 4 places left. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // JS and Python both emit the shortest round-tripping digits; only the layout differs.
  const js = String(Math.abs(x));
  let digits: string;
  let decpt: number; // value = 0.<digits> * 10^decpt
  const e = js.indexOf("e");
  if (e >= 0) {
    const mantissa = js.slice(0, e);
    digits = mantissa.replace(".", "");
    decpt = Number(js.slice(e + 1)) + 1;
  } else {
    const dot = js.indexOf(".");
    const intPart = dot >= 0 ? js.slice(0, dot) : js;
    const fracPart = dot >= 0 ? js.slice(dot + 1) : "";
    const all = intPart + fracPart;
    const lead = all.length - all.replace(/^0+/, "").length;
    digits = all.slice(lead).replace(/0+$/, "");
    decpt = intPart.length - lead;
  }
  if (decpt <= -4 || decpt > 16) {
    const exp = decpt - 1;
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/** json.dumps string with ensure_ascii=True: everything outside 0x20..0x7e becomes \uXXXX (lower-case
 * hex; astral characters are already surrogate pairs in UTF-16, as Python writes them); "/" stays. */
function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    const code = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** Python json.dumps with default arguments. JS numbers that are safe integers print as ints, other
 * numbers as floats; wrap a value in PyFloat to force float formatting; bigints print as ints. */
export function pyJsonDumps(value: PyJsonValue | TokenData): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      return Number.isSafeInteger(value) ? String(value) : pyFloatRepr(value);
    case "string":
      return pyJsonString(value);
    case "object":
      break;
    default:
      throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
  }
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map((v: PyJsonValue) => pyJsonDumps(v)).join(", ")}]`;
  // A Map keeps insertion order even for integer-like keys, which a plain object reorders.
  const entries: [string, PyJsonValue][] =
    value instanceof Map ? [...value.entries()] : Object.entries(value as { [key: string]: PyJsonValue });
  return `{${entries.map(([k, v]) => `${pyJsonString(k)}: ${pyJsonDumps(v)}`).join(", ")}}`;
}

// ---- Python json.loads (integers beyond 2^53 come back as bigint) -------------------------------

class JsonReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    const value = this.value();
    this.ws();
    if (this.pos !== this.text.length) this.fail("extra data");
    return value;
  }

  private fail(what: string): never {
    throw new SyntaxError(`${what} at char ${this.pos}`);
  }

  private ws(): void {
    while (this.pos < this.text.length && " \t\n\r".includes(this.text[this.pos] as string)) this.pos++;
  }

  private value(): unknown {
    this.ws();
    const t = this.text;
    const ch = t[this.pos];
    if (ch === "{") return this.object();
    if (ch === "[") return this.array();
    if (ch === '"') return this.string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
      ["NaN", NaN], // Python's json.loads accepts these three non-standard constants
      ["Infinity", Infinity],
      ["-Infinity", -Infinity],
    ] as const) {
      if (t.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    const m = /^(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?/.exec(t.slice(this.pos));
    if (!m) this.fail("expecting value");
    this.pos += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const n = Number(m[1]);
      return Number.isSafeInteger(n) ? n : BigInt(m[1] as string);
    }
    return Number(m[0]);
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++; // {
    this.ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail("expecting property name");
      const key = this.string();
      this.ws();
      if (this.text[this.pos] !== ":") this.fail("expecting ':'");
      this.pos++;
      // defineProperty so a "__proto__" key is stored as data, as in a Python dict.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.ws();
      const sep = this.text[this.pos++];
      if (sep === "}") return out;
      if (sep !== ",") this.fail("expecting ',' delimiter");
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.pos++; // [
    this.ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const sep = this.text[this.pos++];
      if (sep === "]") return out;
      if (sep !== ",") this.fail("expecting ',' delimiter");
    }
  }

  private string(): string {
    const t = this.text;
    let out = "";
    this.pos++; // opening quote
    for (;;) {
      if (this.pos >= t.length) this.fail("unterminated string");
      const code = t.charCodeAt(this.pos);
      const ch = t[this.pos++] as string;
      if (ch === '"') return out;
      if (code < 0x20) this.fail("invalid control character"); // json.loads strict=True
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const esc = t[this.pos++];
      switch (esc) {
        case '"':
        case "\\":
        case "/":
          out += esc;
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = t.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\uXXXX escape");
          out += String.fromCharCode(parseInt(hex, 16)); // UTF-16 units: surrogate pairs rejoin by themselves
          this.pos += 4;
          break;
        }
        default:
          this.fail("invalid escape");
      }
    }
  }
}

/** Python json.loads semantics for a token payload; integers outside the safe range become bigint. */
export function pyJsonLoads(text: string): unknown {
  return new JsonReader(text).parseDocument();
}

// ---- base64 ------------------------------------------------------------------------------------

/** urlsafe base64 WITH "=" padding (Python's base64.urlsafe_b64encode). */
export function urlsafeB64encode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

const B64_VALUES = new Map<string, number>(
  [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]),
);

/** base64.urlsafe_b64decode: "-_" map to "+/", characters outside the alphabet are skipped (Python's
 * non-strict binascii), decoding stops at a complete pad sequence, and a dangling quad is an error. */
export function urlsafeB64decodeLenient(text: string): Buffer {
  const out: number[] = [];
  let quadPos = 0;
  let left = 0;
  let pads = 0;
  for (const raw of text) {
    if (raw === "=") {
      // A pad only counts once two data characters of the quad are in; a full pad sequence ends input.
      if (quadPos >= 2 && quadPos + ++pads >= 4) return Buffer.from(out);
      continue;
    }
    const v = B64_VALUES.get(raw === "-" ? "+" : raw === "_" ? "/" : raw);
    if (v === undefined) continue;
    pads = 0;
    switch (quadPos) {
      case 0:
        left = v;
        quadPos = 1;
        break;
      case 1:
        out.push(((left << 2) | (v >> 4)) & 0xff);
        left = v & 0x0f;
        quadPos = 2;
        break;
      case 2:
        out.push(((left << 4) | (v >> 2)) & 0xff);
        left = v & 0x03;
        quadPos = 3;
        break;
      default:
        out.push(((left << 6) | v) & 0xff);
        quadPos = 0;
    }
  }
  if (quadPos === 1) throw new Error("Invalid base64-encoded string: one extra data character");
  if (quadPos !== 0) throw new Error("Incorrect padding");
  return Buffer.from(out);
}

// ---- tokenlib ----------------------------------------------------------------------------------

function secretBytes(secret: string | Uint8Array): Buffer {
  if (typeof secret !== "string") return Buffer.from(secret);
  // Python's str.encode("utf8") raises on lone surrogates; Buffer.from would silently write U+FFFD.
  if (!secret.isWellFormed()) throw new TypeError("secret contains a lone surrogate");
  return Buffer.from(secret, "utf8");
}

// A purge signs thousands of tokens with one secret: derive its signing key once.
const signingKeys = new Map<string, Buffer>();

/** HKDF(secret, salt=None, info="services.mozilla.com/tokenlib/v1/signing", 32). */
export function signingKey(secret: string | Uint8Array): Buffer {
  if (typeof secret !== "string") return hkdf(secretBytes(secret), null, SIGNING_INFO, 32);
  let key = signingKeys.get(secret);
  if (!key) {
    key = hkdf(secretBytes(secret), null, SIGNING_INFO, 32);
    if (signingKeys.size >= 16) signingKeys.clear(); // a handful of secrets at most; never grow without bound
    signingKeys.set(secret, key);
  }
  return key;
}

export interface MakeTokenOptions {
  /** Used when data has no "salt": 6 lower-case hex characters (hexlify of 3 random bytes). */
  salt?: string;
  /** Seconds since the epoch (float) used for "expires" when data has none. */
  now?: number;
  /** Seconds added to now (tokenlib default 300). */
  timeout?: number;
}

/** tokenlib.make_token: payload = json.dumps(data + salt + expires), token = urlsafe_b64(payload||sig). */
export function makeToken(data: TokenData, secret: string | Uint8Array, options: MakeTokenOptions = {}): string {
  return issueToken(data, secret, options).token;
}

/** makeToken, also returning the salt it put in the payload (so the derived secret needs no re-parse). */
export function issueToken(data: TokenData, secret: string | Uint8Array, options: MakeTokenOptions = {}): { token: string; salt: PyJsonValue } {
  const fields = new Map<string, PyJsonValue>(
    data instanceof Map ? data : Object.entries(data as { [key: string]: PyJsonValue }),
  );
  // Only added when absent, so a caller-supplied salt/expires keeps its own position (dict semantics).
  if (!fields.has("salt")) fields.set("salt", options.salt ?? randomBytes(3).toString("hex"));
  if (!fields.has("expires")) {
    const now = options.now ?? Date.now() / 1000;
    fields.set("expires", new PyFloat(now + (options.timeout ?? DEFAULT_TIMEOUT)));
  }
  const payload = Buffer.from(pyJsonDumps(fields), "utf8"); // ASCII anyway (ensure_ascii)
  const sig = createHmac("sha256", signingKey(secret)).update(payload).digest();
  return { token: urlsafeB64encode(Buffer.concat([payload, sig])), salt: fields.get("salt")! };
}

/** Decodes a token into payload bytes and the trailing 32-byte signature (no verification). */
export function splitToken(token: string): { payload: Buffer; signature: Buffer } {
  // token.encode("ascii") fails on non-ASCII before base64 is even tried.
  if (!/^[\x00-\x7f]*$/.test(token)) throw new MalformedTokenError("token is not ASCII");
  let raw: Buffer;
  try {
    raw = urlsafeB64decodeLenient(token);
  } catch (err) {
    throw new MalformedTokenError("token has invalid base64", { cause: err });
  }
  // Python slicing: a short token gives an empty payload and a short signature, never an exception.
  const cut = Math.max(0, raw.length - SIG_LEN);
  return { payload: raw.subarray(0, cut), signature: raw.subarray(cut) };
}

function decodePayload(payload: Uint8Array): unknown {
  try {
    return pyJsonLoads(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch (err) {
    throw new MalformedTokenError("token contains invalid json", { cause: err });
  }
}

export type TokenPayload = Record<string, unknown>;

/** tokenlib.parse_token: checks the signature (constant time), then expiry (expires <= now is expired). */
export function parseToken(token: string, secret: string | Uint8Array, now: number): TokenPayload {
  const { payload, signature } = splitToken(token);
  const expected = createHmac("sha256", signingKey(secret)).update(payload).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new InvalidSignatureError("token has invalid signature");
  }
  const data = decodePayload(payload);
  // Python would raise a bare KeyError/TypeError here; a TokenError is easier to classify.
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new MalformedTokenError("token payload is not an object");
  }
  const expires = (data as TokenPayload)["expires"];
  if (typeof expires !== "number" && typeof expires !== "bigint") {
    throw new MalformedTokenError("token payload has no numeric expires");
  }
  if (expires <= now) throw new ExpiredTokenError("token has expired");
  return data as TokenPayload;
}

/** tokenlib.get_derived_secret: HKDF(secret, salt=payload.salt (ASCII), info=derive/+token), urlsafe b64
 * with padding (44 chars). Does not verify the signature, like tokenlib. */
export function getDerivedSecretBytes(token: string, secret: string | Uint8Array): Buffer {
  const data = decodePayload(splitToken(token).payload);
  const salt =
    data !== null && typeof data === "object" && !Array.isArray(data) ? (data as TokenPayload)["salt"] : undefined;
  return derivedSecretBytesForSalt(token, salt, secret);
}

/** The derived secret of a token whose salt is already known (the issuer's shortcut). */
export function derivedSecretBytesForSalt(token: string, salt: unknown, secret: string | Uint8Array): Buffer {
  if (typeof salt !== "string" || !/^[\x00-\x7f]*$/.test(salt)) {
    throw new MalformedTokenError("token payload has no ASCII salt");
  }
  return hkdf(secretBytes(secret), Buffer.from(salt, "ascii"), DERIVE_INFO + token, 32);
}

export function getDerivedSecret(token: string, secret: string | Uint8Array): string {
  return urlsafeB64encode(getDerivedSecretBytes(token, secret));
}

// ---- delete_service_data helpers (§4.3) --------------------------------------------------------

/** binascii.unhexlify: even length, hex digits of either case. */
export function unhexlify(hex: string): Buffer {
  if (hex.length % 2 !== 0) throw new InvalidClientStateError(`Odd-length string: ${JSON.stringify(hex)}`);
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new InvalidClientStateError(`Non-hexadecimal digit found: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, "hex");
}

/** "{:013d}-{base64url_nopad(unhexlify(client_state))}": BigInt so 2^63-1 stays exact; the width is a
 * minimum, and a minus sign counts towards it like Python's zero padding. */
export function formatKeyId(keysChangedAt: bigint, clientStateHex: string): string {
  const digits = (keysChangedAt < 0n ? -keysChangedAt : keysChangedAt).toString();
  const number = keysChangedAt < 0n ? `-${digits.padStart(12, "0")}` : digits.padStart(13, "0");
  return `${number}-${unhexlify(clientStateHex).toString("base64url")}`;
}

export interface PurgeRowForToken {
  uid: bigint;
  email: string;
  keysChangedAt: bigint | null;
  generation: bigint;
  clientState: string;
}

// A type alias (not an interface) so it is assignable to TokenData's index signature.
export type ServiceTokenData = {
  uid: bigint;
  node: string;
  fxa_uid: string;
  fxa_kid: string;
};

/** The token data delete_service_data signs, in its key order. `node` is override_node or row.node. */
export function tokenDataForRow(row: PurgeRowForToken, node: string): ServiceTokenData {
  const at = row.email.indexOf("@");
  return {
    uid: row.uid,
    node,
    fxa_uid: at >= 0 ? row.email.slice(0, at) : row.email, // str.partition("@")[0]
    // `keys_changed_at or generation`: NULL and 0 both fall back (0n is falsy too).
    fxa_kid: formatKeyId(row.keysChangedAt || row.generation, row.clientState),
  };
}

/** "{node}/1.5/{uid}": the hard-coded pattern; services.pattern is not used and slashes are not fixed. */
export function deleteServiceDataUrl(node: string, uid: bigint): string {
  return `${node}/1.5/${uid}`;
}
