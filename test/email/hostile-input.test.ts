// Bad input never crashes and never sends: thousands of generated malformed or hostile /send bodies
// (wrong types, huge strings, deep nesting, invalid UTF-8, duplicate keys, header injection, broken
// syntax) each get a 400 in our error shape, and a recording provider proves nothing went out.
import { describe, expect, test } from "bun:test";
import { MAX_SEND_BODY_BYTES } from "../../src/email/send-api.ts";
import { createEmailTestDb, postSend, testApp } from "../support/email.ts";
import { seededRandom } from "../support/seeded-random.ts";

const db = await createEmailTestDb();

const random = seededRandom(20260115);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const int = (n: number) => Math.floor(random() * n);
const utf8 = (text: string) => new TextEncoder().encode(text);
const concat = (...parts: (string | Uint8Array | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...utf8(p)] : [...p])));

const VALID: Record<string, unknown> = { to: "foo@example.com", cc: ["bar@example.com"], subject: "bar", body: { text: "baz", html: "<p>baz</p>" }, headers: { "X-Uid": "1" }, provider: "mock", metadata: "m" };
const validText = JSON.stringify(VALID);

const WRONG_VALUES: unknown[] = [0, 1, -1, 1.5, -2.5e300, 18446744073709551616, true, false, [], ["foo@example.com"], {}, { a: 1 }, [[[]]], [{}], [null]];
const REQUIRED_STRINGS = ["to", "subject"] as const;
const OPTIONAL_STRINGS = ["provider", "metadata"] as const;
const BAD_ADDRESSES = [
  "", " ", "foo", "foo@", "@example.com", "foo@example", "foo@@example.com", "foo bar@example.com", "foo@exa mple.com", "foo@-example.com",
  "foo@example.com.", "<>", "Foo <>", "foo@example.com\r\nBcc: victim@example.com", "foo@example.com\u0000", "a’b@example.com",
  `${"a".repeat(65)}@example.com`, `a@${"b".repeat(250)}.com`, "foo@例え.jp", ">foo@example.com<", "foo@[127.0.0.1]", "\"foo\"@example.com",
];
const INJECTIONS = ["\r\nBcc: victim@example.com", "\nBcc: victim@example.com", "\rX-Evil: 1", "\u0000", "\u0007", "\u001b[31m", "\u007f", "x\r\n\r\n<html>"];
const BAD_HEADER_NAMES = ["", "X Foo", "X-Foo:", "Bcc: victim@example.com", "X-Foo\r\nBcc", "Tab\tName", "Ünïcode", "X-\u0000", "(\u007f)"];
const INVALID_UTF8: number[][] = [[0xff], [0xfe], [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3, 0x28], [0xe0, 0x80, 0xaf]];
const BAD_ESCAPES = ["\\x41", "\\u12", "\\u12G4", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\ud83e", "\\", "\\U0041", "\\'"];
const BAD_NUMBERS = ["01", "-", "1.", ".5", "1e", "1e+", "+1", "NaN", "Infinity", "-Infinity", "1e999", "0x10", "1_000"];

function withField(field: string, value: unknown, base: Record<string, unknown> = VALID): string {
  return JSON.stringify({ ...base, [field]: value });
}

const objWith = (field: string, value: unknown): Record<string, unknown> => ({ ...VALID, [field]: value });

function bodies(): { name: string; body: string | Uint8Array }[] {
  // Keyed by content, so the count is of distinct bodies.
  const out = new Map<string, { name: string; body: string | Uint8Array }>();
  const add = (name: string, body: string | Uint8Array) => {
    const key = typeof body === "string" ? `s${body}` : `b${body.join(",")}`;
    if (!out.has(key)) out.set(key, { name, body });
  };
  // The same document compact, indented and tab-indented: whitespace must not change the verdict.
  const addJson = (name: string, doc: Record<string, unknown>) => {
    add(name, JSON.stringify(doc));
    add(`${name} (indented)`, JSON.stringify(doc, null, 2));
    add(`${name} (tabs)`, JSON.stringify(doc, null, "\t"));
  };

  // Wrong types for every field (and inside cc, headers and body).
  for (const value of WRONG_VALUES) {
    for (const f of REQUIRED_STRINGS) addJson(`${f} as ${JSON.stringify(value)}`, objWith(f, value));
    for (const f of OPTIONAL_STRINGS) addJson(`${f} as ${JSON.stringify(value)}`, objWith(f, value));
    if (!Array.isArray(value)) addJson(`cc as ${JSON.stringify(value)}`, objWith("cc", value));
    addJson(`cc item as ${JSON.stringify(value)}`, objWith("cc", ["bar@example.com", value]));
    if (typeof value !== "object" || Array.isArray(value)) addJson(`headers as ${JSON.stringify(value)}`, objWith("headers", value));
    addJson(`header value as ${JSON.stringify(value)}`, objWith("headers", { "X-A": value }));
    if (typeof value !== "object" || value === null) addJson(`body as ${JSON.stringify(value)}`, objWith("body", value));
    addJson(`body.text as ${JSON.stringify(value)}`, objWith("body", { text: value }));
    addJson(`body.html as ${JSON.stringify(value)}`, objWith("body", { text: "t", html: value }));
  }
  for (const f of [...REQUIRED_STRINGS, "body"]) {
    addJson(`${f} null`, objWith(f, null));
    const { [f]: _, ...rest } = VALID;
    add(`${f} missing`, JSON.stringify(rest));
  }
  add("body.text missing", withField("body", { html: "x" }));

  // Invalid addresses in to and cc, raw and behind display names.
  for (const address of BAD_ADDRESSES) {
    addJson(`to ${JSON.stringify(address)}`, objWith("to", address));
    addJson(`to named ${JSON.stringify(address)}`, objWith("to", `Name <${address}>`));
    addJson(`cc ${JSON.stringify(address)}`, objWith("cc", ["bar@example.com", address]));
  }

  // Header injection: CR/LF and other controls in the subject and in header values; bad header names.
  for (const injection of INJECTIONS) {
    for (const prefix of ["", "Hello", "🦀 시험 "]) {
      addJson(`subject injection ${JSON.stringify(prefix + injection)}`, objWith("subject", prefix + injection));
      for (const header of ["X-Uid", "Content-Language", "X-SES-MESSAGE-TAGS", "Subject"]) addJson(`header ${header} injection`, objWith("headers", { [header]: prefix + injection }));
    }
  }
  for (const name of BAD_HEADER_NAMES) addJson(`header name ${JSON.stringify(name)}`, objWith("headers", { [name]: "v" }));

  // Duplicate keys at the top level and in body.
  for (const key of Object.keys(VALID)) {
    const value = JSON.stringify(VALID[key]);
    add(`duplicate ${key}`, validText.replace(/}$/, `,"${key}":${value}}`));
    add(`duplicate ${key} first`, `{"${key}":${value},${validText.slice(1)}`);
  }
  add("duplicate body.text", withField("body", { text: "a" }).replace('"text":"a"', '"text":"a","text":"b"'));
  add("duplicate body.html", withField("body", { text: "a", html: "b" }).replace('"html":"b"', '"html":"b","html":"c"'));

  // Invalid UTF-8 inside every string-valued field, and outside strings.
  for (const bytes of INVALID_UTF8) {
    for (const field of ["to", "subject", "provider", "metadata"]) {
      const [head, tail] = withField(field, "AAA@example.com").split("AAA");
      add(`invalid UTF-8 ${bytes} in ${field}`, concat(head!, bytes, tail!));
    }
    const [head, tail] = withField("body", { text: "AAA", html: "h" }).split("AAA");
    add(`invalid UTF-8 ${bytes} in body.text`, concat(head!, bytes, tail!));
    const [h2, t2] = withField("headers", { "X-A": "AAA" }).split("AAA");
    add(`invalid UTF-8 ${bytes} in header value`, concat(h2!, bytes, t2!));
    const [h3, t3] = withField("headers", { AAA: "v" }).split("AAA");
    add(`invalid UTF-8 ${bytes} in header name`, concat(h3!, bytes, t3!));
    const [h4, t4] = withField("unknown", "AAA").split("AAA");
    add(`invalid UTF-8 ${bytes} in an ignored field`, concat(h4!, bytes, t4!));
    add(`invalid UTF-8 ${bytes} between tokens`, concat("{", bytes, validText.slice(1)));
  }

  // Broken escapes, raw control characters, bad numbers.
  for (const escape of BAD_ESCAPES) {
    for (const field of ["to", "subject", "metadata"]) add(`escape ${escape} in ${field}`, withField(field, "XESC").replace("XESC", escape));
    add(`escape ${escape} in a key`, validText.replace('"subject"', `"sub${escape}ject"`));
  }
  for (let c = 0; c < 0x20; c++) {
    add(`raw control ${c} in subject`, validText.replace('"bar"', `"b${String.fromCharCode(c)}ar"`));
    add(`raw control ${c} in a key`, validText.replace('"subject"', `"sub${String.fromCharCode(c)}ject"`));
  }
  for (const number of BAD_NUMBERS) add(`number ${number} as to`, validText.replace('"foo@example.com"', number));

  // Deep nesting in known fields, and unterminated deep nesting anywhere.
  for (const depth of [2, 10, 128, 129, 1_000, 20_000, 60_000]) {
    add(`to nested ${depth}`, validText.replace('"foo@example.com"', "[".repeat(depth) + "]".repeat(depth)));
    add(`cc nested ${depth}`, validText.replace('["bar@example.com"]', "[".repeat(depth) + "]".repeat(depth)));
    add(`header value nested ${depth}`, validText.replace('"1"', '{"a":'.repeat(depth) + "1" + "}".repeat(depth)));
    add(`unterminated nesting ${depth}`, validText.replace(/}$/, `,"x":${"[".repeat(depth)}}`));
    add(`unterminated objects ${depth}`, validText.replace(/}$/, `,"x":${'{"a":'.repeat(depth)}}`));
    add(`deep but missing to ${depth}`, JSON.stringify({ ...VALID, to: undefined }).replace(/}$/, `,"x":${"[".repeat(depth)}${"]".repeat(depth)}}`));
  }

  // Huge strings: over the limit (any field), and under it but still invalid.
  for (const field of ["to", "subject", "metadata", "text", "unknown"]) {
    const big = "x".repeat(MAX_SEND_BODY_BYTES);
    add(`huge ${field}`, field === "text" ? withField("body", { text: big }) : withField(field, big));
  }
  add("huge invalid address under the limit", withField("to", `${"a".repeat(100_000)}@example.com`));
  add("huge address list with one bad entry", withField("cc", [...Array.from({ length: 3000 }, (_, i) => `u${i}@example.com`), "bad"]));
  add("many headers, one bad", withField("headers", Object.fromEntries([...Array.from({ length: 2000 }, (_, i) => [`X-H${i}`, "v"]), ["X-Bad", "a\r\nb"]])));

  // Broken syntax: every truncation of a valid body, trailing garbage, wrong top-level values.
  const indented = JSON.stringify({ ...VALID, subject: "🦀 시험 🦀" }, null, 2);
  for (let i = 0; i < validText.length; i++) add(`truncated at ${i}`, validText.slice(0, i));
  for (let i = 0; i < indented.length; i++) add(`indented truncated at ${i}`, indented.slice(0, i));
  for (const garbage of ["x", "}", "]", ",", "{}", "[]", "null", '"', "\u0000", "/* */", "\u00a0"]) add(`trailing ${JSON.stringify(garbage)}`, validText + garbage);
  for (const top of ["", " ", "\n\t", "null", "true", "0", '"str"', "[]", "[1]", '["foo@example.com"]', "{}", "[{}]", "\ufeff" + validText, "{,}", "{:}", '{"to"}', '{"to":}', "{'to':'x'}"]) add(`top level ${JSON.stringify(top.slice(0, 20))}`, top);

  // Every structural character replaced by bytes that cannot continue the grammar, deleted, or doubled.
  const structural = [...validText].map((ch, i) => ({ ch, i })).filter(({ ch }) => "{}[]:,".includes(ch));
  for (const { i } of structural) {
    for (const replacement of ["#", "@", "\\", "`", ";", "=", "x", "'"]) add(`structural ${i} → ${replacement}`, validText.slice(0, i) + replacement + validText.slice(i + 1));
    add(`structural ${i} deleted`, validText.slice(0, i) + validText.slice(i + 1));
    add(`structural ${i} doubled`, validText.slice(0, i + 1) + validText.slice(i));
  }
  // The quotes too: dropping any one of them breaks the document.
  [...validText].forEach((ch, i) => {
    if (ch === '"') add(`quote ${i} deleted`, validText.slice(0, i) + validText.slice(i + 1));
  });

  // Provider names that are not providers (these pass parsing and the bounce check, then fail resolution).
  for (const provider of ["", "SES", "Mock", "wibble", "ses ", " mock", "mock\u0000", "sendgrid", "socketlabs", "smtp", "ses"]) addJson(`provider ${JSON.stringify(provider)}`, objWith("provider", provider));

  // Random mixes: a valid body with one random field replaced by a random bad value.
  const badPool: unknown[] = [...WRONG_VALUES, ...BAD_ADDRESSES.map((a) => a || null), ...INJECTIONS];
  for (let n = 0; n < 1000; n++) {
    const field = pick(["to", "cc", "subject", "headers", "body"] as const);
    let value = pick(badPool);
    if (field === "cc") value = [pick(BAD_ADDRESSES), "bar@example.com"].sort(() => random() - 0.5);
    if (field === "headers") value = random() < 0.5 ? { "X-A": pick(INJECTIONS) } : { [pick(BAD_HEADER_NAMES)]: "v" };
    if (field === "body") value = random() < 0.5 ? { text: pick(WRONG_VALUES) } : { html: "x", other: int(10) };
    if (field === "subject") value = random() < 0.5 ? pick(INJECTIONS) : pick(WRONG_VALUES);
    if (field === "to" && typeof value === "string" && BAD_ADDRESSES.includes(value) === false) value = pick(BAD_ADDRESSES);
    addJson(`mix ${n}: ${field}`, objWith(field, value));
  }
  // Random bytes that start with something no JSON value starts with.
  const starts = [0x00, 0x01, 0x7f, 0x80, 0xff, ...utf8("#@'<>=;~xyzXYZ}])")];
  for (let n = 0; n < 300; n++) {
    const bytes = [pick(starts), ...Array.from({ length: int(200) }, () => int(256))];
    add(`random bytes ${n}`, new Uint8Array(bytes));
  }
  return [...out.values()];
}

describe("hostile /send bodies", () => {
  const cases = bodies();

  test(`at least 2,000 generated bodies (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(2000);
  });

  test("every one is a 400 in the error shape, and nothing is sent", async () => {
    const { app, provider } = testApp(db.sql);
    const unexpected: string[] = [];
    for (const { name, body } of cases) {
      const response = await postSend(app, body);
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        unexpected.push(`${name}: not JSON: ${text.slice(0, 100)}`); // recorded, reported below
        continue;
      }
      const ok =
        response.status === 400 &&
        parsed.code === 400 &&
        parsed.error === "Bad Request" &&
        parsed.errno === 102 &&
        typeof parsed.message === "string" &&
        parsed.message.startsWith("Invalid payload: ") &&
        Object.keys(parsed).join() === "code,error,errno,message";
      if (!ok) unexpected.push(`${name}: ${response.status} ${text.slice(0, 200)}`);
    }
    expect(unexpected).toEqual([]);
    expect(provider.sent).toEqual([]);
    // A good body still goes through afterwards: the app is unharmed.
    expect((await postSend(app, validText)).status).toBe(200);
    expect(provider.sent.length).toBe(1);
  }, 120_000);
});
