import { describe, expect, test } from "bun:test";
import { EmailError } from "../../src/email/errors.ts";
import {
  MAX_LINE_LENGTH,
  SES_HEADER_ALLOW_LIST,
  buildMultipartMime,
  encodeHeaderText,
  encodeQuotedPrintable,
  formatMailbox,
  randomBoundary,
  sesHeaderName,
  truncateHeaderValue,
  type MimeMessage,
} from "../../src/email/mime.ts";
import { decodeQuotedPrintable, leafParts, partText, readEntity, readParts } from "../support/mime-reader.ts";

const sender = (text: string) => {
  const m = /^(.*) <(.*)>$/.exec(text);
  return m ? { name: m[1]!, address: m[2]! } : { name: "", address: text };
};

function mime(overrides: Partial<MimeMessage> = {}, boundaries = counter()): string {
  return buildMultipartMime(
    { sender: sender("Wibble Blee <a@a.com>"), to: "b@b.com", cc: [], headers: {}, subject: "subject", text: "body", ...overrides },
    { boundary: boundaries },
  );
}

function counter() {
  let n = 0;
  return () => `=_boundary${++n}`;
}

const lines = (message: string) => message.split("\r\n");

describe("build_multipart_mime (upstream providers/test.rs)", () => {
  test("build_mime_without_optional_data", () => {
    const l = lines(mime());
    expect(l[0]).toBe("Sender: Wibble Blee <a@a.com>");
    expect(l[1]).toBe("From: Wibble Blee <a@a.com>");
    expect(l[2]).toBe("To: b@b.com");
    expect(l[3]).toBe("Subject: subject");
    expect(l[4]).toBe("MIME-Version: 1.0");
    expect(l[11]).toBe("Content-Transfer-Encoding: quoted-printable");
    expect(l[12]).toBe("Content-Type: text/plain; charset=utf-8");
    expect(l[14]).toBe("body");
  });

  test("build_mime_with_cc_headers", () => {
    const l = lines(mime({ sender: sender("a@a.com"), cc: ["c@c.com", "d@d.com"], headers: { "Content-Language": "en-gb", "x-verify-code": "wibble" } }));
    expect(l[0]).toBe("Sender: a@a.com");
    expect(l[1]).toBe("From: a@a.com");
    expect(l[2]).toBe("To: b@b.com");
    expect(l[3]).toBe("Subject: subject");
    expect(l[4]).toBe("MIME-Version: 1.0");
    expect(l[5]).toBe("Cc: c@c.com, d@d.com");
    expect([l[6], l[7]].sort()).toEqual(["Content-Language: en-gb", "X-Verify-Code: wibble"]);
    expect(l[14]).toBe("Content-Transfer-Encoding: quoted-printable");
    expect(l[15]).toBe("Content-Type: text/plain; charset=utf-8");
    expect(l[17]).toBe("body");
  });

  test("build_mime_with_custom_headers", () => {
    const l = lines(mime({ sender: sender("a@a.com"), headers: { "x-foo": "bar", "x-device-id": "baz" } }));
    expect(l[4]).toBe("MIME-Version: 1.0");
    expect(l[5]).toBe("X-Device-Id: baz");
    expect(l[12]).toBe("Content-Transfer-Encoding: quoted-printable");
    expect(l[13]).toBe("Content-Type: text/plain; charset=utf-8");
    expect(l[15]).toBe("body");
    expect(l.some((line) => /x-foo/i.test(line))).toBe(false);
  });

  test("build_mime_with_body_html", () => {
    const l = lines(mime({ sender: sender("a@a.com"), html: "<p>body</p>" }));
    expect(l[11]).toBe("Content-Transfer-Encoding: quoted-printable");
    expect(l[12]).toBe("Content-Type: text/plain; charset=utf-8");
    expect(l[14]).toBe("body");
    expect(l[19]).toBe("Content-Transfer-Encoding: base64");
    expect(l[20]).toBe("Content-Type: text/html; charset=utf-8");
    expect(l[22]).toBe("PHA+Ym9keTwvcD4=");
  });
});

describe("MIME layout", () => {
  test("the whole message, line by line", () => {
    expect(mime({ cc: ["c@c.com"], headers: { "x-uid": "u1" }, html: "<p>body</p>" })).toBe(
      [
        "Sender: Wibble Blee <a@a.com>",
        "From: Wibble Blee <a@a.com>",
        "To: b@b.com",
        "Subject: subject",
        "MIME-Version: 1.0",
        "Cc: c@c.com",
        "X-Uid: u1",
        'Content-Type: multipart/mixed; boundary="=_boundary1"',
        "",
        "--=_boundary1",
        'Content-Type: multipart/alternative; boundary="=_boundary2"',
        "",
        "--=_boundary2",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "body",
        "--=_boundary2",
        'Content-Type: multipart/related; boundary="=_boundary3"',
        "",
        "--=_boundary3",
        "Content-Transfer-Encoding: base64",
        "Content-Type: text/html; charset=utf-8",
        "",
        "PHA+Ym9keTwvcD4=",
        "--=_boundary3--",
        "--=_boundary2--",
        "--=_boundary1--",
        "",
      ].join("\r\n"),
    );
  });

  test("an empty html body still gets its part; without html there is no related part", () => {
    const parts = leafParts(readEntity(mime({ html: "" })));
    expect(parts.map((p) => p.get("Content-Type"))).toEqual(["text/plain; charset=utf-8", "text/html; charset=utf-8"]);
    expect(partText(parts[1]!)).toBe("");
    expect(mime()).not.toContain("multipart/related");
  });

  test("default boundaries are random, distinct, and cannot occur in encoded content", () => {
    const a = randomBoundary();
    const b = randomBoundary();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^=_[0-9a-f]{32}$/);
    const message = buildMultipartMime({ sender: sender("a@a.com"), to: "b@b.com", cc: [], headers: {}, subject: "s", text: "--=_x =_ ==", html: "--=_x" });
    const root = readEntity(message);
    const [alternative] = readParts(root);
    const leaves = leafParts(root);
    expect(readParts(alternative!)).toHaveLength(2);
    expect(partText(leaves[0]!)).toBe("--=_x =_ ==");
    expect(partText(leaves[1]!)).toBe("--=_x");
  });

  test("every line ends in CRLF and none is longer than 998 octets", () => {
    const message = mime({
      subject: "s".repeat(3000),
      text: "t".repeat(5000) + "\n" + "ü".repeat(2000),
      html: "h".repeat(5000),
      headers: { "X-Link": "l".repeat(5000), "X-Uid": "ü".repeat(5000) },
      cc: Array.from({ length: 100 }, (_, i) => `cc${i}@example.com`),
    });
    expect(message).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
    for (const line of lines(message)) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_LINE_LENGTH);
    const root = readEntity(message);
    expect(root.get("Subject")).toBe("s".repeat(3000));
    expect(root.get("Cc")!.split(", ")).toHaveLength(100);
  });
});

describe("header text encoding", () => {
  test("non-ASCII subjects are RFC 2047 encoded-words that decode back", () => {
    const message = mime({ subject: "🦀 시험 🦀" });
    const subjectLine = lines(message)[3]!;
    expect(subjectLine).toMatch(/^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(readEntity(message).get("Subject")).toBe("🦀 시험 🦀");
  });

  test("long non-ASCII values are split into words of whole characters, each at most 75 characters", () => {
    const subject = "🦀시험é".repeat(40);
    const message = mime({ subject });
    const root = readEntity(message);
    expect(root.get("Subject")).toBe(subject);
    const subjectLines = root.headerLines.slice(3, root.headerLines.indexOf("MIME-Version: 1.0"));
    expect(subjectLines.length).toBeGreaterThan(1);
    for (const word of subjectLines.join("\r\n").matchAll(/=\?UTF-8\?B\?([^?]*)\?=/g)) {
      expect(word[0].length).toBeLessThanOrEqual(75);
      // each word decodes on its own: no character split across words
      expect(Buffer.from(word[1]!, "base64").toString("utf8")).not.toContain("\uFFFD");
    }
  });

  test("plain ASCII stays verbatim; control characters and encoded-word look-alikes are encoded", () => {
    expect(encodeHeaderText("Hello, world", 7)).toBe("Hello, world");
    expect(encodeHeaderText("tab\there", 7)).toBe("tab\there");
    for (const value of ["bell\x07", "del\x7f", "line\u2028sep", "nel\u0085", "=?UTF-8?Q?=0D=0A?=", "=?utf-8?b?SGk=?="]) {
      const encoded = encodeHeaderText(value, 7);
      expect(encoded).toMatch(/^=\?UTF-8\?B\?/);
      expect(readEntity(`Subject: ${encoded}\r\n\r\n`).get("Subject")).toBe(value);
    }
  });

  test("display names: atoms verbatim, specials quoted, non-ASCII encoded", () => {
    expect(formatMailbox({ name: "Firefox Accounts", address: "accounts@firefox.com" })).toBe("Firefox Accounts <accounts@firefox.com>");
    expect(formatMailbox({ name: "", address: "accounts@firefox.com" })).toBe("accounts@firefox.com");
    expect(formatMailbox({ name: 'Mozilla, "Inc"', address: "a@a.com" })).toBe('"Mozilla, \\"Inc\\"" <a@a.com>');
    const encoded = formatMailbox({ name: "Föö Bär", address: "a@a.com" });
    expect(encoded).toMatch(/^=\?UTF-8\?B\?.*\?= <a@a\.com>$/);
    const root = readEntity(mime({ sender: { name: "Föö Bär", address: "a@a.com" } }));
    expect(root.get("From")).toBe("Föö Bär <a@a.com>");
    expect(root.get("Sender")).toBe("Föö Bär <a@a.com>");
  });

  test("addresses that are not one bare addr-spec are refused with the original's messages", () => {
    const cases: [Partial<MimeMessage>, string][] = [
      [{ to: "b@b.com, c@c.com" }, 'Invalid payload: `to` address "b@b.com, c@c.com"'],
      [{ to: "b@b.com\r\nBcc: x@x.com" }, 'Invalid payload: `to` address "b@b.com\\r\\nBcc: x@x.com"'],
      [{ cc: ["c@c.com", "nope"] }, 'Invalid payload: `cc` address "nope"'],
      [{ sender: { name: "x", address: "<a@a.com>" } }, 'Invalid payload: `from` address "<a@a.com>"'],
    ];
    for (const [overrides, message] of cases) {
      let caught: unknown;
      try {
        mime(overrides);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(EmailError);
      expect((caught as EmailError).message).toBe(message);
      expect((caught as EmailError).status).toBe(400);
    }
  });

  test("unicode addresses go out as UTF-8 (RFC 6532)", () => {
    const root = readEntity(mime({ sender: { name: "Foo Bar", address: "٢fooΔ@a.com" }, to: "시험@b.com" }));
    expect(root.get("To")).toBe("시험@b.com");
    expect(root.get("From")).toBe("Foo Bar <٢fooΔ@a.com>");
  });
});

describe("SES header allow-list (upstream types/headers/test.rs)", () => {
  const expected: [string, string][] = [
    ["ContentLanguage", "Content-Language"],
    ["DeviceId", "X-Device-Id"],
    ["EmailSender", "X-Email-Sender"],
    ["EmailService", "X-Email-Service"],
    ["FlowBeginTime", "X-Flow-Begin-Time"],
    ["FlowId", "X-Flow-Id"],
    ["Link", "X-Link"],
    ["RecoveryCode", "X-Recovery-Code"],
    ["ReportSigninLink", "X-Report-Signin-Link"],
    ["ServiceId", "X-Service-Id"],
    ["SesConfigurationSet", "X-SES-CONFIGURATION-SET"],
    ["SesMessageTags", "X-SES-MESSAGE-TAGS"],
    ["SigninVerifyCode", "X-Signin-Verify-Code"],
    ["TemplateName", "X-Template-Name"],
    ["TemplateVersion", "X-Template-Version"],
    ["Uid", "X-Uid"],
    ["UnblockCode", "X-Unblock-Code"],
    ["VerifyCode", "X-Verify-Code"],
  ];
  for (const [type, name] of expected) {
    test(`${type}: header name ${name}, value kept as given`, () => {
      expect(sesHeaderName(name.toLowerCase())).toBe(name as never);
      expect(sesHeaderName(name.toUpperCase())).toBe(name as never);
      const root = readEntity(mime({ headers: { [name.toLowerCase()]: "foo" } }));
      expect(root.fields.find((f) => f.name === name)?.value).toBe("foo");
    });
  }

  test("X-Verify-Short-Code is allowed (mozilla/fxa 1.183); nothing else is", () => {
    expect(sesHeaderName("x-verify-short-code")).toBe("X-Verify-Short-Code");
    expect(SES_HEADER_ALLOW_LIST).toHaveLength(19);
    for (const name of ["X-Foo", "Bcc", "To", "From", "Subject", "Content-Type", "Reply-To"]) expect(sesHeaderName(name)).toBeUndefined();
  });

  test("any_header_length: 999 × X fits `998 - len(name) - 2`", () => {
    for (const name of ["X-Link", "X-Device-Id", "X-Report-Signin-Link"]) {
      const value = truncateHeaderValue(name, "X".repeat(999));
      expect(value.length).toBeLessThanOrEqual(998 - name.length - 2);
      expect(value.length).toBe(998 - name.length - 2);
      const line = lines(mime({ headers: { [name]: "X".repeat(999) } })).find((l) => l.startsWith(`${name}: `))!;
      expect(line.length).toBe(998);
    }
  });

  test("non-ASCII values are cut by UTF-8 octets, never inside a character", () => {
    const limit = 998 - "X-Link".length - 2;
    for (const ch of ["é", "시", "🦀"]) {
      const value = truncateHeaderValue("X-Link", ch.repeat(1000));
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(limit);
      expect(Buffer.byteLength(value)).toBeGreaterThan(limit - Buffer.byteLength(ch));
      expect(value).toBe(ch.repeat(value.length / ch.length));
      expect(readEntity(mime({ headers: { "X-Link": ch.repeat(1000) } })).get("X-Link")).toBe(value);
    }
    expect(truncateHeaderValue("X-Link", "short")).toBe("short");
  });

  test("two spellings of one header give one line", () => {
    const root = readEntity(mime({ headers: { "x-uid": "first", "X-UID": "second" } }));
    expect(root.all("X-Uid")).toEqual(["second"]);
  });
});

describe("quoted-printable text", () => {
  test("round trips, keeps lines within 76 characters, encodes =, trailing blanks and non-ASCII", () => {
    const text = ["a=b", "trailing space ", "trailing tab\t", "ünïcödé 🦀", "x".repeat(300), "=".repeat(100), "", "end"].join("\n");
    const encoded = encodeQuotedPrintable(text);
    for (const line of encoded.split("\r\n")) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).not.toMatch(/[ \t]$/);
    }
    expect(encoded).toContain("a=3Db");
    expect(encoded).toContain("trailing space=20");
    expect(decodeQuotedPrintable(encoded)).toBe(text.replace(/\n/g, "\r\n"));
  });

  test("CR, LF and CRLF in the text all become CRLF line breaks", () => {
    expect(encodeQuotedPrintable("a\rb\nc\r\nd")).toBe("a\r\nb\r\nc\r\nd");
  });

  test("html round trips through base64 in 76-character lines", () => {
    const html = `<p>${"🦀 시험 ".repeat(100)}</p>`;
    const message = mime({ html });
    const [, htmlPart] = leafParts(readEntity(message));
    expect(partText(htmlPart!)).toBe(html);
    for (const line of htmlPart!.body.split("\r\n")) expect(line.length).toBeLessThanOrEqual(76);
  });
});
