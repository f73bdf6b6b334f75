// The /send body parser: serde_json's messages and positions (spec/email.md §3.3), serde derive's
// rules (§1.2), address normalisation (§1.3) and our refusal of control characters in headers.
import { describe, expect, test } from "bun:test";
import { EmailError } from "../../src/email/errors.ts";
import { parseSendRequest, type SendRequest } from "../../src/email/send-request.ts";
import { formatFloat, rustDebugString } from "../../src/email/serde-json.ts";
import { readVector } from "../support/vectors.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
const parse = (text: string | Uint8Array) => parseSendRequest(typeof text === "string" ? utf8(text) : text);

function failure(text: string | Uint8Array): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(EmailError);
    expect((error as EmailError).errno).toBe(102);
    return (error as EmailError).message.replace(/^Invalid payload: /, "");
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

const VALID = '"to":"a@example.com","subject":"s","body":{"text":"t"}';

describe("the upstream cases (send-cases.json)", () => {
  const vectors = readVector<{ cases: { name: string; body: string; status: number; response?: { message: string } }[] }>("email/api/send-cases.json");
  for (const c of vectors.cases.filter((v) => v.status === 400)) {
    test(c.name, () => expect(`Invalid payload: ${failure(c.body)}`).toBe(c.response!.message));
  }
});

describe("serde derive semantics", () => {
  test("optional fields may be absent or null; unknown fields are ignored, however deep", () => {
    const parsed = parse(`{${VALID},"cc":null,"headers":null,"provider":null,"metadata":null,"unknown":{"a":[1,2.5e3,-0,true,false,null,"x",{"b":[]}]}}`);
    expect(parsed).toEqual({ to: "a@example.com", cc: [], subject: "s", text: "t", headers: {} } satisfies SendRequest);
    const deep = `{"x":${"[".repeat(50_000)}${"]".repeat(50_000)},${VALID}}`;
    expect(parse(deep).to).toBe("a@example.com");
    const deepObjects = `{"x":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)},${VALID}}`;
    expect(parse(deepObjects).to).toBe("a@example.com");
  });

  test("html: absent → undefined, null → undefined, \"\" → present", () => {
    expect(parse(`{${VALID}}`).html).toBeUndefined();
    expect(parse(`{"to":"a@example.com","subject":"s","body":{"text":"t","html":null}}`).html).toBeUndefined();
    expect(parse(`{"to":"a@example.com","subject":"s","body":{"text":"t","html":""}}`).html).toBe("");
  });

  test("headers: a map of strings; a repeated header name keeps the last value", () => {
    expect(parse(`{${VALID},"headers":{"X-A":"1","X-A":"2","x-a":"3"}}`).headers).toEqual({ "X-A": "2", "x-a": "3" });
    // A header named __proto__ is an ordinary key, not a prototype change.
    const odd = parse(`{${VALID},"headers":{"__proto__":"x"}}`).headers;
    expect(Object.keys(odd)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
  });

  test("a top-level array in field order is accepted, as serde does for structs", () => {
    expect(parse('["A@Example.com", ["b@example.com"], {"X-A":"1"}, "subj", {"text":"t"}, "mock", "meta"]')).toEqual({
      to: "a@example.com",
      cc: ["b@example.com"],
      headers: { "X-A": "1" },
      subject: "subj",
      text: "t",
      provider: "mock",
      metadata: "meta",
    });
    expect(failure("[]")).toBe("invalid length 0, expected struct Email with 7 elements at line 1 column 2");
    expect(failure('["a@example.com", null, null, "s", ["t"]]')).toBe("invalid length 1, expected struct Body with 2 elements at line 1 column 40");
  });

  test("addresses are normalised: display name dropped, trimmed, lower-cased", () => {
    const parsed = parse('{"to":"Foo Bar <FOO@Example.COM>","cc":["  Baz@EXAMPLE.com  ","< wibble@example.com >"],"subject":"s","body":{"text":"t"}}');
    expect(parsed.to).toBe("foo@example.com");
    expect(parsed.cc).toEqual(["baz@example.com", "wibble@example.com"]);
  });

  test("escapes are decoded, surrogate pairs joined", () => {
    const parsed = parse('{"to":"a@example.com","subject":"\\u00e9\\ud83e\\udd80\\t\\"\\\\\\/","body":{"text":"\\b\\f\\n\\r"}}');
    expect(parsed.subject).toBe('é🦀\t"\\/');
    expect(parsed.text).toBe("\b\f\n\r");
    // Keys may be escaped too.
    expect(parse('{"\\u0074o":"a@example.com","subject":"s","body":{"text":"t"}}').to).toBe("a@example.com");
  });
});

describe("serde_json messages and positions", () => {
  const cases: [string, string][] = [
    ["", "EOF while parsing a value at line 1 column 0"],
    ["   \n  ", "EOF while parsing a value at line 2 column 2"],
    ["{", "EOF while parsing an object at line 1 column 1"],
    ['{"to"', "EOF while parsing an object at line 1 column 5"],
    ['{"to":', "EOF while parsing a value at line 1 column 6"],
    ['{"to":"a@exa', "EOF while parsing a string at line 1 column 12"],
    ['{"to":"a@example.com"', "EOF while parsing an object at line 1 column 21"],
    ['{"to":"a@example.com",', "EOF while parsing a value at line 1 column 22"],
    ['{"to" "a"}', "expected `:` at line 1 column 7"],
    ['{"to":"a@example.com" "subject":"s"}', "expected `,` or `}` at line 1 column 23"],
    ['{"to":"a@example.com",}', "trailing comma at line 1 column 23"],
    ["{to:1}", "key must be a string at line 1 column 2"],
    ['{"to":"a@example.com","to":"b@example.com"}', "duplicate field `to` at line 1 column 26"],
    ['{"to":"a@example.com","subject":"s","subject":"t"}', "duplicate field `subject` at line 1 column 45"],
    ['{"to":"a@example.com","subject":"s","body":{"text":"t","text":"u"}}', "duplicate field `text` at line 1 column 61"],
    [`{${VALID}} x`, "trailing characters at line 1 column 58"],
    [`{${VALID}}}`, "trailing characters at line 1 column 57"],
    ["nul", "EOF while parsing a value at line 1 column 3"],
    ["nulx", "expected ident at line 1 column 4"],
    ["x", "expected value at line 1 column 1"],
    ['"x"', 'invalid type: string "x", expected struct Email at line 1 column 3'],
    ["42", "invalid type: integer `42`, expected struct Email at line 1 column 2"],
    ["null", "invalid type: null, expected struct Email at line 1 column 4"],
    ['{"to":1}', "invalid type: integer `1`, expected a string at line 1 column 7"],
    ['{"to":-7}', "invalid type: integer `-7`, expected a string at line 1 column 8"],
    ['{"to":1.5}', "invalid type: floating point `1.5`, expected a string at line 1 column 9"],
    ['{"to":1e3}', "invalid type: floating point `1000.0`, expected a string at line 1 column 9"],
    ['{"to":18446744073709551616}', "invalid type: floating point `1.8446744073709552e19`, expected a string at line 1 column 26"],
    ['{"to":1e999}', "number out of range at line 1 column 11"],
    ['{"to":01}', "invalid number at line 1 column 8"],
    ['{"to":-x}', "invalid number at line 1 column 8"],
    ['{"to":1.}', "invalid number at line 1 column 9"],
    ['{"to":true}', "invalid type: boolean `true`, expected a string at line 1 column 10"],
    ['{"to":false}', "invalid type: boolean `false`, expected a string at line 1 column 11"],
    ['{"to":null}', "invalid type: null, expected a string at line 1 column 10"],
    ['{"to":tru}', "expected ident at line 1 column 10"],
    ['{"to":{}}', "invalid type: map, expected a string at line 1 column 6"],
    ['{"to":"bar"}', 'invalid value: string "bar", expected email address at line 1 column 12'],
    ['{"to":"bar" ,"subject":"s"}', 'invalid value: string "bar", expected email address at line 1 column 12'],
    ['{"to":"Foo <bar>"}', 'invalid value: string "bar", expected email address at line 1 column 18'],
    ['{"to":"시험"}', 'invalid value: string "시험", expected email address at line 1 column 15'],
    ['{"to":"a@example.com","cc":"x"}', 'invalid type: string "x", expected a sequence at line 1 column 30'],
    ['{"to":"a@example.com","cc":["b@example.com",]}', "trailing comma at line 1 column 45"],
    ['{"to":"a@example.com","cc":["b@example.com" "c"]}', "expected `,` or `]` at line 1 column 45"],
    ['{"to":"a@example.com","cc":["x", "b@example.com"]}', 'invalid value: string "x", expected email address at line 1 column 33'],
    ['{"to":"a@example.com","cc":[null]}', "invalid type: null, expected a string at line 1 column 32"],
    ['{"to":"a@example.com","headers":[]}', "invalid type: sequence, expected a map at line 1 column 32"],
    ['{"to":"a@example.com","headers":{"X-A":1}}', "invalid type: integer `1`, expected a string at line 1 column 40"],
    ['{"to":"a@example.com","subject":"s","body":"baz"}', 'invalid type: string "baz", expected struct Body at line 1 column 48'],
    ['{"to":"a@example.com","subject":"s","body":{}}', "missing field `text` at line 1 column 45"],
    ['{"to":"a@example.com","subject":"s","body":{"text":"t","html":5}}', "invalid type: integer `5`, expected a string at line 1 column 63"],
    ['{"to":"a@example.com","subject":"s","body":{"text":"t"},"provider":["ses"]}', "invalid type: sequence, expected a string at line 1 column 67"],
    ['{"to":"a@example.com","subject":"s","body":{"text":"t"},"metadata":{"a":1}}', "invalid type: map, expected a string at line 1 column 67"],
    ['{"to":"a@example.com"}', "missing field `subject` at line 1 column 22"],
    ['{"to":"a@example.com","subject":"s"}', "missing field `body` at line 1 column 36"],
    ['{"to":"a\\x"}', "invalid escape at line 1 column 10"],
    ['{"to":"\\u12G4"}', "invalid escape at line 1 column 12"],
    ['{"to":"\\udc00"}', "lone leading surrogate in hex escape at line 1 column 13"],
    ['{"to":"\\ud800x"}', "unexpected end of hex escape at line 1 column 14"],
    ['{"to":"\\ud800\\u0041"}', "lone leading surrogate in hex escape at line 1 column 19"],
    ['{"to":"a\u0001b"}', "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 9"],
    ['{"to":"a\nb"}', "control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0"],
    ['{"x":"a\u0001b"}', "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 7"],
    ['{\n  "x": 1,\n  "to": [ "a@example.com" ]\n}', "invalid type: sequence, expected a string at line 3 column 8"],
  ];
  for (const [body, message] of cases) {
    test(JSON.stringify(body), () => expect(failure(body)).toBe(message));
  }

  test("columns count bytes, not characters", () => {
    expect(failure('{"x":"é","to":1}')).toBe("invalid type: integer `1`, expected a string at line 1 column 16");
  });

  test("invalid UTF-8 inside a string is refused once the string has been read", () => {
    const bytes = new Uint8Array([...utf8('{"to":"a@example.com","subject":"a'), 0xc3, 0x28, ...utf8('b","body":{"text":"t"}}')]);
    expect(failure(bytes)).toBe("invalid unicode code point at line 1 column 38");
  });

  test("invalid UTF-8 in an ignored field is refused too (serde_json would skip it)", () => {
    const bytes = new Uint8Array([...utf8(`{${VALID},"x":"`), 0xff, ...utf8('"}')]);
    expect(failure(bytes)).toMatch(/^invalid unicode code point at line 1 column \d+$/);
  });

  test("invalid UTF-8 outside strings is a syntax error", () => {
    expect(failure(new Uint8Array([0x7b, 0xff, 0x7d]))).toBe("key must be a string at line 1 column 2");
    expect(failure(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(`{${VALID}}`)]))).toBe("expected value at line 1 column 1");
  });
});

describe("header injection is refused (a difference from the original)", () => {
  const refusals: [string, string][] = [
    ['{"to":"a@example.com","subject":"hi\\r\\nBcc: victim@example.com","body":{"text":"t"}}', 'invalid value: string "hi\\r\\nBcc: victim@example.com", expected a subject without control characters at line 1 column 63'],
    ['{"to":"a@example.com","subject":"hi\\nX: y","body":{"text":"t"}}', 'invalid value: string "hi\\nX: y", expected a subject without control characters at line 1 column 42'],
    ['{"to":"a@example.com","subject":"\\u0000","body":{"text":"t"}}', 'invalid value: string "\\0", expected a subject without control characters at line 1 column 40'],
    ['{"to":"a@example.com","headers":{"X-A":"v\\r\\nBcc: x@example.com"}}', 'invalid value: string "v\\r\\nBcc: x@example.com", expected a header value without control characters at line 1 column 65'],
    ['{"to":"a@example.com","headers":{"X-A\\r\\nBcc":"v"}}', 'invalid value: string "X-A\\r\\nBcc", expected a header name at line 1 column 45'],
    ['{"to":"a@example.com","headers":{"Bcc: x":"v"}}', 'invalid value: string "Bcc: x", expected a header name at line 1 column 41'],
    ['{"to":"a@example.com","headers":{"":"v"}}', 'invalid value: string "", expected a header name at line 1 column 35'],
  ];
  for (const [body, message] of refusals) {
    test(JSON.stringify(body), () => expect(failure(body)).toBe(message));
  }

  test("tabs and non-ASCII text are fine in headers and the subject; the body may contain anything", () => {
    const parsed = parse('{"to":"a@example.com","subject":"🦀\\t시험","headers":{"X-A":"é\\tb"},"body":{"text":"line\\r\\nline\\u0000","html":"<p>\\r\\n</p>"}}');
    expect(parsed.subject).toBe("🦀\t시험");
    expect(parsed.headers).toEqual({ "X-A": "é\tb" });
    expect(parsed.text).toBe("line\r\nline\u0000");
  });
});

describe("Rust's rendering of values in messages", () => {
  test("strings as Rust's {:?}", () => {
    expect(rustDebugString('a"b\\c\nd\re\tf\0')).toBe('"a\\"b\\\\c\\nd\\re\\tf\\0"');
    expect(rustDebugString("it's ٢fooΔ 🦀")).toBe("\"it's ٢fooΔ 🦀\"");
    expect(rustDebugString("\u001b[31m\u200b\u0301")).toBe('"\\u{1b}[31m\\u{200b}\\u{301}"');
  });

  test("floats as ryu prints them", () => {
    expect([1, 0.5, -2.25, 1e15, 1e16, 1.5e-7, 0.0001, 0, -0].map(formatFloat)).toEqual(["1.0", "0.5", "-2.25", "1000000000000000.0", "1e16", "1.5e-7", "0.0001", "0.0", "-0.0"]);
  });
});
