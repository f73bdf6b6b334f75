// The reading side of tokenlib 2.0.0 (spec §5.1), run only by tests and loopback storage nodes: what a
// storage node does with the token purge-old-records sends (parse_token, get_derived_secret), with Python's
// json.loads and its lenient base64 decoder, plus make_token for the vectors. The issuing side the tool
// runs is src/tokenserver/token.ts.
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  MalformedTokenError,
  TokenError,
  derivedSecretBytesForSalt,
  issueToken,
  signingKey,
  urlsafeB64encode,
  type MakeTokenOptions,
  type TokenData,
} from "../../src/tokenserver/token.ts";

const SIG_LEN = 32;

export class InvalidSignatureError extends TokenError {
  override name = "InvalidSignatureError";
}
export class ExpiredTokenError extends TokenError {
  override name = "ExpiredTokenError";
}

/** tokenlib.make_token: payload = json.dumps(data + salt + expires), token = urlsafe_b64(payload||sig). */
export function makeToken(data: TokenData, secret: string | Uint8Array, options: MakeTokenOptions = {}): string {
  return issueToken(data, secret, options).token;
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

// ---- base64 decoding ---------------------------------------------------------------------------

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

// ---- parse_token, get_derived_secret -----------------------------------------------------------

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

export function getDerivedSecret(token: string, secret: string | Uint8Array): string {
  return urlsafeB64encode(getDerivedSecretBytes(token, secret));
}
