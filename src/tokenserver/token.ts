// tokenlib 2.0.0-compatible token issuing (spec §5.1) plus the kid/token-data helpers of delete_service_data
// (§4.3): what purge-old-records runs. Storage nodes recompute the HMAC over the exact payload bytes and
// the derived secret over the exact token text, so every byte here has to match what Python's tokenlib
// would have produced. The reading side (parse_token, get_derived_secret from a token) is only run by
// tests and loopback storage nodes: test/support/tokenlib.ts.
// Time and randomness come in through parameters; defaults are taken only when the caller leaves them out.
import { Buffer } from "node:buffer";
import { createHmac, randomBytes } from "node:crypto";
import { hkdf } from "./hkdf.ts";

const SIGNING_INFO = "services.mozilla.com/tokenlib/v1/signing";
const DERIVE_INFO = "services.mozilla.com/tokenlib/v1/derive/";
export const DEFAULT_TIMEOUT = 300;

// ---- errors ------------------------------------------------------------------------------------

/** Base of tokenlib's errors (all ValueError subclasses in Python). */
export class TokenError extends Error {
  override name = "TokenError";
}
export class MalformedTokenError extends TokenError {
  override name = "MalformedTokenError";
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

// ---- base64 ------------------------------------------------------------------------------------

/** urlsafe base64 WITH "=" padding (Python's base64.urlsafe_b64encode). */
export function urlsafeB64encode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
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

/** tokenlib.make_token, also returning the salt it put in the payload (so the derived secret needs no re-parse):
 * payload = json.dumps(data + salt + expires), token = urlsafe_b64(payload||sig). */
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


/** The derived secret of a token whose salt is already known (the issuer's shortcut). */
export function derivedSecretBytesForSalt(token: string, salt: unknown, secret: string | Uint8Array): Buffer {
  if (typeof salt !== "string" || !/^[\x00-\x7f]*$/.test(salt)) {
    throw new MalformedTokenError("token payload has no ASCII salt");
  }
  return hkdf(secretBytes(secret), Buffer.from(salt, "ascii"), DERIVE_INFO + token, 32);
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
