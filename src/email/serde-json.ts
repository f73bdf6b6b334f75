// A position-tracking JSON reader that fails the way serde_json (from_slice) does, so /send answers
// with the original's error messages byte for byte (spec/email.md §3.3): same descriptions, same
// "at line L column C" (column = bytes consumed on the line), same re-positioning of errors raised
// inside a value by the innermost enclosing array or object. It reads bytes, not a decoded string,
// because serde_json counts bytes and only validates UTF-8 inside strings.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const EOF = -1;

/** A serde_json error: a description, positioned (line ≥ 1) or not yet (line 0, fixed by a container). */
export class SerdeError extends Error {
  override name = "SerdeError";
  constructor(
    readonly description: string,
    public line = 0,
    public column = 0,
  ) {
    super(description);
  }

  get positioned(): boolean {
    return this.line !== 0;
  }

  /** serde_json's Display: `<description> at line L column C`, or the bare description when unpositioned. */
  override toString(): string {
    return this.positioned ? `${this.description} at line ${this.line} column ${this.column}` : this.description;
  }
}

/** An error raised by a visitor (invalid type/value, missing or duplicate field): positioned later. */
export const customError = (description: string) => new SerdeError(description);

/** What a JSON value looked like, for `invalid type: <unexpected>, expected <what>`. */
export type Unexpected =
  | { kind: "null" }
  | { kind: "bool"; value: boolean }
  | { kind: "unsigned" | "signed"; text: string }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  | { kind: "sequence" }
  | { kind: "map" };

export function describeUnexpected(u: Unexpected): string {
  switch (u.kind) {
    case "null":
      return "null";
    case "bool":
      return `boolean \`${u.value}\``;
    case "unsigned":
    case "signed":
      return `integer \`${u.text}\``;
    case "float":
      return `floating point \`${formatFloat(u.value)}\``;
    case "string":
      return `string ${rustDebugString(u.value)}`;
    case "sequence":
      return "sequence";
    case "map":
      return "map";
  }
}

export const invalidType = (u: Unexpected, expected: string) => customError(`invalid type: ${describeUnexpected(u)}, expected ${expected}`);
export const invalidValue = (u: Unexpected, expected: string) => customError(`invalid value: ${describeUnexpected(u)}, expected ${expected}`);

// Rust's `{:?}` for str escapes these, plus \u{..} for non-printable and grapheme-extending characters.
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Grapheme_Extend}]|(?! )\p{Zs}/u;

/** Rust's Debug rendering of a string (what serde prints inside `string "..."`). */
export function rustDebugString(value: string): string {
  let out = '"';
  for (const ch of value) {
    switch (ch) {
      case "\t": out += "\\t"; break;
      case "\r": out += "\\r"; break;
      case "\n": out += "\\n"; break;
      case "\\": out += "\\\\"; break;
      case '"': out += '\\"'; break;
      case "\0": out += "\\0"; break;
      default:
        out += NON_PRINTABLE.test(ch) ? `\\u{${ch.codePointAt(0)!.toString(16)}}` : ch;
    }
  }
  return out + '"';
}

/** ryu's shortest float text as serde_json prints it: `1.0`, `0.5`, `1e16`, `1.5e-7`. */
export function formatFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = value.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -5 || exp >= 16) return `${mantissa}e${exp}`;
  const text = String(value);
  return text.includes(".") ? text : `${text}.0`;
}

const DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// One character per byte; used only for runs of ASCII, where it equals UTF-8 and slicing is cheap.
const LATIN1 = new TextDecoder("latin1");

export class SerdeJsonReader {
  index = 0;
  private readonly latin1: string;
  constructor(readonly bytes: Uint8Array) {
    this.latin1 = LATIN1.decode(bytes);
  }

  peek(): number {
    return this.index < this.bytes.length ? this.bytes[this.index]! : EOF;
  }

  eat(): void {
    this.index += 1;
  }

  next(): number {
    const b = this.peek();
    if (b !== EOF) this.index += 1;
    return b;
  }

  /** Skips JSON whitespace and returns the next byte (not consumed), or -1 at the end. */
  skipWhitespace(): number {
    for (;;) {
      const b = this.peek();
      if (b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d) this.index += 1;
      else return b;
    }
  }

  private positionOf(offset: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
      if (this.bytes[i] === 0x0a) {
        line += 1;
        lineStart = i + 1;
      }
    }
    return { line, column: offset - lineStart };
  }

  /** An error at the current position (the offending byte has been consumed). */
  error(description: string): SerdeError {
    const { line, column } = this.positionOf(this.index);
    return new SerdeError(description, line, column);
  }

  /** An error caused by the peeked byte: the position includes it. */
  peekError(description: string): SerdeError {
    const { line, column } = this.positionOf(Math.min(this.bytes.length, this.index + 1));
    return new SerdeError(description, line, column);
  }

  /** Gives an unpositioned error the current position; anything else passes through unchanged. */
  fixPosition(error: unknown): unknown {
    if (error instanceof SerdeError && !error.positioned) {
      const { line, column } = this.positionOf(this.index);
      error.line = line;
      error.column = column;
    }
    return error;
  }

  parseIdent(rest: string): void {
    for (let i = 0; i < rest.length; i++) {
      const b = this.next();
      if (b === EOF) throw this.error("EOF while parsing a value");
      if (b !== rest.charCodeAt(i)) throw this.error("expected ident");
    }
  }

  /** After the end of the value: only whitespace may follow. */
  end(): void {
    if (this.skipWhitespace() !== EOF) throw this.peekError("trailing characters");
  }

  // ---- strings ------------------------------------------------------------------------------------

  /** Reads a string whose opening quote has been consumed. */
  parseString(): string {
    return this.scanString(true) as string;
  }

  /** Skips a string whose opening quote has been consumed (still rejecting invalid UTF-8; see below). */
  ignoreString(): void {
    this.scanString(false);
  }

  private scanString(keep: boolean): string | undefined {
    const bytes = this.bytes;
    let out = "";
    let start = this.index;
    let nonAscii = false;
    let invalid = false;
    for (;;) {
      let i = this.index;
      while (i < bytes.length) {
        const b = bytes[i]!;
        if (b === QUOTE || b === BACKSLASH || b < 0x20) break;
        if (b >= 0x80) nonAscii = true;
        i += 1;
      }
      this.index = i;
      if (i === bytes.length) throw this.error("EOF while parsing a string");
      const b = bytes[i]!;
      if (b === QUOTE || b === BACKSLASH) {
        const piece = this.decode(start, i, nonAscii);
        if (piece === undefined) invalid = true;
        else out += piece;
        this.index = i + 1;
        if (b === QUOTE) {
          // Like serde_json, UTF-8 is judged once the whole string has been read.
          if (invalid) throw this.error("invalid unicode code point");
          return keep ? out : undefined;
        }
        out += this.parseEscape(keep);
        start = this.index;
        nonAscii = false;
        continue;
      }
      // A raw control character: serde_json reports it after consuming it when reading a value.
      if (keep) this.index += 1;
      throw this.error("control character (\\u0000-\\u001F) found while parsing a string");
    }
  }

  // serde_json skips ignored strings without validating UTF-8; we validate them too, so nothing that
  // is not text gets past the parser (a deliberate, invisible difference).
  private decode(from: number, to: number, nonAscii: boolean): string | undefined {
    if (!nonAscii) return this.latin1.slice(from, to);
    try {
      return DECODER.decode(this.bytes.subarray(from, to));
    } catch {
      return undefined; // the fatal decoder throws only on invalid UTF-8, which the caller reports
    }
  }

  private decodeHexEscape(): number {
    if (this.index + 4 > this.bytes.length) {
      this.index = this.bytes.length;
      throw this.error("EOF while parsing a string");
    }
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const b = this.bytes[this.index]!;
      this.index += 1;
      const v = b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1;
      if (v < 0) throw this.error("invalid escape");
      n = n * 16 + v;
    }
    return n;
  }

  private parseEscape(keep: boolean): string {
    const ch = this.next();
    if (ch === EOF) throw this.error("EOF while parsing a string");
    switch (ch) {
      case QUOTE: return '"';
      case BACKSLASH: return "\\";
      case 0x2f: return "/";
      case 0x62: return "\b";
      case 0x66: return "\f";
      case 0x6e: return "\n";
      case 0x72: return "\r";
      case 0x74: return "\t";
      case 0x75: {
        const n1 = this.decodeHexEscape();
        if (!keep) return ""; // ignored strings: any \uXXXX is fine, as in serde_json
        if (n1 >= 0xdc00 && n1 <= 0xdfff) throw this.error("lone leading surrogate in hex escape");
        if (n1 < 0xd800 || n1 > 0xdbff) return String.fromCharCode(n1);
        if (this.peek() === EOF) throw this.error("EOF while parsing a string");
        if (this.peek() !== BACKSLASH) {
          this.eat();
          throw this.error("unexpected end of hex escape");
        }
        this.eat();
        if (this.peek() === EOF) throw this.error("EOF while parsing a string");
        if (this.peek() !== 0x75) {
          this.eat();
          throw this.error("unexpected end of hex escape");
        }
        this.eat();
        const n2 = this.decodeHexEscape();
        if (n2 < 0xdc00 || n2 > 0xdfff) throw this.error("lone leading surrogate in hex escape");
        return String.fromCharCode(n1, n2);
      }
      default:
        throw this.error("invalid escape");
    }
  }

  // ---- numbers ------------------------------------------------------------------------------------

  /** Reads a number (the '-' already consumed when negative) and describes it for a type error. */
  parseNumber(positive: boolean): Unexpected {
    const start = this.index;
    const first = this.next();
    if (first === EOF) throw this.error("EOF while parsing a value");
    if (first === 0x30) {
      const b = this.peek();
      if (b >= 0x30 && b <= 0x39) throw this.peekError("invalid number");
    } else if (first >= 0x31 && first <= 0x39) {
      while (isDigit(this.peek())) this.eat();
    } else {
      throw this.error("invalid number");
    }
    let isFloat = false;
    if (this.peek() === 0x2e) {
      isFloat = true;
      this.eat();
      if (!isDigit(this.peek())) throw this.peekError(this.peek() === EOF ? "EOF while parsing a value" : "invalid number");
      while (isDigit(this.peek())) this.eat();
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      isFloat = true;
      this.eat();
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.eat();
      const d = this.next();
      if (d === EOF) throw this.error("EOF while parsing a value");
      if (!isDigit(d)) throw this.error("invalid number");
      while (isDigit(this.peek())) this.eat();
    }
    const digits = this.latin1.slice(start, this.index);
    // Integers that fit u64 (i64 when negative) stay integers; longer ones become floats, as in serde_json.
    if (!isFloat && digits.length <= 20) {
      const n = BigInt(digits);
      if (positive && n <= 0xffff_ffff_ffff_ffffn) return { kind: "unsigned", text: digits };
      if (!positive && n <= 0x8000_0000_0000_0000n) return { kind: "signed", text: n === 0n ? "0" : `-${digits}` };
    }
    const value = Number(digits);
    if (!Number.isFinite(value)) throw this.error("number out of range");
    return { kind: "float", value: positive ? value : -value };
  }

  // ---- values of the wrong type and values nobody asked for ----------------------------------------

  /** Consumes a scalar (or looks at a bracket) to say what it was: `invalid type: X, expected <expected>`. */
  peekInvalidType(expected: string): SerdeError {
    const b = this.peek();
    let unexpected: Unexpected;
    switch (b) {
      case 0x6e: this.eat(); this.parseIdent("ull"); unexpected = { kind: "null" }; break;
      case 0x74: this.eat(); this.parseIdent("rue"); unexpected = { kind: "bool", value: true }; break;
      case 0x66: this.eat(); this.parseIdent("alse"); unexpected = { kind: "bool", value: false }; break;
      case 0x2d: this.eat(); unexpected = this.parseNumber(false); break;
      case QUOTE: this.eat(); unexpected = { kind: "string", value: this.parseString() }; break;
      case OPEN_BRACKET: unexpected = { kind: "sequence" }; break;
      case OPEN_BRACE: unexpected = { kind: "map" }; break;
      default:
        if (isDigit(b)) {
          unexpected = this.parseNumber(true);
          break;
        }
        return this.peekError("expected value");
    }
    return this.fixPosition(invalidType(unexpected, expected)) as SerdeError;
  }

  /** Skips any JSON value without recursion (deep nesting costs a small array, not stack). */
  ignoreValue(): void {
    const stack: number[] = [];
    let enclosing: number | undefined;
    for (;;) {
      const b = this.skipWhitespace();
      let frame: number | undefined;
      switch (b) {
        case EOF: throw this.peekError("EOF while parsing a value");
        case 0x6e: this.eat(); this.parseIdent("ull"); break;
        case 0x74: this.eat(); this.parseIdent("rue"); break;
        case 0x66: this.eat(); this.parseIdent("alse"); break;
        case 0x2d: this.eat(); this.parseNumber(false); break;
        case QUOTE: this.eat(); this.ignoreString(); break;
        case OPEN_BRACKET:
        case OPEN_BRACE:
          if (enclosing !== undefined) stack.push(enclosing);
          enclosing = undefined;
          this.eat();
          frame = b;
          break;
        default:
          if (!isDigit(b)) throw this.peekError("expected value");
          this.parseNumber(true);
      }
      let acceptComma: boolean;
      let current: number;
      if (frame !== undefined) {
        acceptComma = false;
        current = frame;
      } else if (enclosing !== undefined) {
        acceptComma = true;
        current = enclosing;
        enclosing = undefined;
      } else {
        const popped = stack.pop();
        if (popped === undefined) return;
        acceptComma = true;
        current = popped;
      }
      for (;;) {
        const c = this.skipWhitespace();
        if (c === COMMA && acceptComma) {
          this.eat();
          break;
        }
        const closes = (c === CLOSE_BRACKET && current === OPEN_BRACKET) || (c === CLOSE_BRACE && current === OPEN_BRACE);
        if (!closes) {
          if (c === EOF) throw this.peekError(current === OPEN_BRACKET ? "EOF while parsing a list" : "EOF while parsing an object");
          if (acceptComma) throw this.peekError(current === OPEN_BRACKET ? "expected `,` or `]`" : "expected `,` or `}`");
          break;
        }
        this.eat();
        const popped = stack.pop();
        if (popped === undefined) return;
        current = popped;
        acceptComma = true;
      }
      if (current === OPEN_BRACE) {
        const k = this.skipWhitespace();
        if (k === EOF) throw this.peekError("EOF while parsing an object");
        if (k !== QUOTE) throw this.peekError("key must be a string");
        this.eat();
        this.ignoreString();
        const colon = this.skipWhitespace();
        if (colon === EOF) throw this.peekError("EOF while parsing an object");
        if (colon !== COLON) throw this.peekError("expected `:`");
        this.eat();
      }
      enclosing = current;
    }
  }

  // ---- containers ---------------------------------------------------------------------------------

  /**
   * Runs a visitor over `[...]` or `{...}` the way serde_json does: the closing bracket is looked for
   * even when the visitor failed (that moves the position past it), and an error without a position
   * gets the position reached.
   */
  finishCompound<T>(visit: () => T, close: () => void): T {
    let result: T;
    try {
      result = visit();
    } catch (error) {
      try {
        close();
      } catch {
        // serde_json reports the visitor's error, not the closing one; the attempt only moves the position.
      }
      throw this.fixPosition(error);
    }
    try {
      close();
    } catch (error) {
      throw this.fixPosition(error);
    }
    return result;
  }

  endSeq(): void {
    const b = this.skipWhitespace();
    if (b === CLOSE_BRACKET) {
      this.eat();
      return;
    }
    if (b === COMMA) {
      this.eat();
      throw this.peekError(this.skipWhitespace() === CLOSE_BRACKET ? "trailing comma" : "trailing characters");
    }
    throw this.peekError(b === EOF ? "EOF while parsing a list" : "trailing characters");
  }

  endMap(): void {
    const b = this.skipWhitespace();
    if (b === CLOSE_BRACE) {
      this.eat();
      return;
    }
    throw this.peekError(b === COMMA ? "trailing comma" : b === EOF ? "EOF while parsing an object" : "trailing characters");
  }

  /** SeqAccess: is there another element? `state.first` tracks the comma rule. */
  hasNextElement(state: { first: boolean }): boolean {
    let b = this.skipWhitespace();
    if (b === CLOSE_BRACKET) return false;
    if (b === COMMA && !state.first) {
      this.eat();
      b = this.skipWhitespace();
    } else if (b === EOF) {
      throw this.peekError("EOF while parsing a list");
    } else if (state.first) {
      state.first = false;
    } else {
      throw this.peekError("expected `,` or `]`");
    }
    if (b === CLOSE_BRACKET) throw this.peekError("trailing comma");
    if (b === EOF) throw this.peekError("EOF while parsing a value");
    return true;
  }

  /** MapAccess: reads the next key (a string), or returns undefined at `}`. */
  nextKey(state: { first: boolean }): string | undefined {
    let b = this.skipWhitespace();
    if (b === CLOSE_BRACE) return undefined;
    if (b === COMMA && !state.first) {
      this.eat();
      b = this.skipWhitespace();
    } else if (b === EOF) {
      throw this.peekError("EOF while parsing an object");
    } else if (state.first) {
      state.first = false;
    } else {
      throw this.peekError("expected `,` or `}`");
    }
    if (b === QUOTE) {
      this.eat();
      return this.parseString();
    }
    if (b === CLOSE_BRACE) throw this.peekError("trailing comma");
    if (b === EOF) throw this.peekError("EOF while parsing a value");
    throw this.peekError("key must be a string");
  }

  parseObjectColon(): void {
    const b = this.skipWhitespace();
    if (b === COLON) {
      this.eat();
      return;
    }
    throw this.peekError(b === EOF ? "EOF while parsing an object" : "expected `:`");
  }

  // ---- typed reads (what serde's Deserialize impls ask for) ----------------------------------------

  /** `String`: a JSON string, or `invalid type: ..., expected a string`. */
  readString(expected = "a string"): string {
    const b = this.skipWhitespace();
    if (b === EOF) throw this.peekError("EOF while parsing a value");
    if (b !== QUOTE) throw this.peekInvalidType(expected);
    this.eat();
    try {
      return this.parseString();
    } catch (error) {
      throw this.fixPosition(error);
    }
  }

  /** `Option<T>`: `null` is None, anything else is read by `some`. */
  readOption<T>(some: () => T): T | undefined {
    if (this.skipWhitespace() === 0x6e) {
      this.eat();
      this.parseIdent("ull");
      return undefined;
    }
    return some();
  }

  /** `Vec<T>`. */
  readSeq<T>(element: () => T, expected = "a sequence"): T[] {
    const b = this.skipWhitespace();
    if (b === EOF) throw this.peekError("EOF while parsing a value");
    if (b !== OPEN_BRACKET) throw this.peekInvalidType(expected);
    this.eat();
    return this.finishCompound(
      () => {
        const out: T[] = [];
        const state = { first: true };
        while (this.hasNextElement(state)) out.push(element());
        return out;
      },
      () => this.endSeq(),
    );
  }

  /** `HashMap<String, V>` as a plain object: later duplicates win, as in serde. `onKey` may reject a key. */
  readMap<V>(value: (key: string) => V, onKey: (key: string) => void = () => {}, expected = "a map"): Record<string, V> {
    const b = this.skipWhitespace();
    if (b === EOF) throw this.peekError("EOF while parsing a value");
    if (b !== OPEN_BRACE) throw this.peekInvalidType(expected);
    this.eat();
    return this.finishCompound(
      () => {
        const out: Record<string, V> = {};
        const state = { first: true };
        for (let key = this.nextKey(state); key !== undefined; key = this.nextKey(state)) {
          onKey(key);
          this.parseObjectColon();
          const v = value(key);
          // "__proto__" is an ordinary key here, not the prototype.
          if (key === "__proto__") Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
          else out[key] = v;
        }
        return out;
      },
      () => this.endMap(),
    );
  }

  /**
   * A `#[derive(Deserialize)]` struct: from an object (unknown keys ignored, duplicates refused, missing
   * required fields named in declaration order) or from an array in field order.
   */
  readStruct(name: string, fields: readonly StructField[]): Map<string, unknown> {
    const b = this.skipWhitespace();
    if (b === EOF) throw this.peekError("EOF while parsing a value");
    if (b === OPEN_BRACKET) {
      this.eat();
      return this.finishCompound(
        () => {
          const values = new Map<string, unknown>();
          const state = { first: true };
          fields.forEach((field, i) => {
            if (!this.hasNextElement(state)) throw customError(`invalid length ${i}, expected struct ${name} with ${fields.length} elements`);
            values.set(field.name, field.read());
          });
          return values;
        },
        () => this.endSeq(),
      );
    }
    if (b !== OPEN_BRACE) throw this.peekInvalidType(`struct ${name}`);
    this.eat();
    return this.finishCompound(
      () => {
        const values = new Map<string, unknown>();
        const state = { first: true };
        for (let key = this.nextKey(state); key !== undefined; key = this.nextKey(state)) {
          let field: StructField | undefined;
          for (const f of fields) if (f.name === key) field = f;
          if (!field) {
            this.parseObjectColon();
            this.ignoreValue();
            continue;
          }
          if (values.has(key)) throw customError(`duplicate field \`${key}\``);
          this.parseObjectColon();
          values.set(key, field.read());
        }
        for (const field of fields) {
          if (values.has(field.name)) continue;
          if (!field.optional) throw customError(`missing field \`${field.name}\``);
          values.set(field.name, undefined);
        }
        return values;
      },
      () => this.endMap(),
    );
  }
}

export interface StructField {
  name: string;
  /** `Option<_>` fields may be absent; the rest are "missing field" errors. */
  optional: boolean;
  read: () => unknown;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}
