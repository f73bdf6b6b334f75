// The small types of the original (spec/email.md §12.12 duration, §12.13 email address, §12.15 error kinds).
import { describe, expect, test } from "bun:test";
import { parseDuration } from "../../src/email/duration.ts";
import { normalizeEmailAddress } from "../../src/email/email-address.ts";
import { EmailError, type EmailErrorKind } from "../../src/email/errors.ts";
import { parseSendRequest } from "../../src/email/send-request.ts";

describe("types/duration", () => {
  test("without_multipliers", () => {
    const expected: [string, number][] = [["second", 1000], ["seconds", 1000], ["minute", 60000], ["hour", 3600000], ["day", 86400000], ["week", 604800000], ["month", 2592000000], ["year", 31536000000]];
    for (const [text, ms] of expected) expect([text, parseDuration(text)]).toEqual([text, ms]);
  });

  test("with_multipliers", () => {
    const expected: [string, number][] = [
      ["2 seconds", 2000], ["2 second", 2000], ["3 seconds", 3000], ["0 seconds", 0], ["2 minutes", 120000],
      ["2 hours", 7200000], ["2 days", 172800000], ["2 weeks", 1209600000], ["2 months", 5184000000], ["2 years", 63072000000],
    ];
    for (const [text, ms] of expected) expect([text, parseDuration(text)]).toEqual([text, ms]);
  });

  test("invalid_patterns", () => {
    for (const text of ["seconx", "secondx", "secondsx", " second", "second ", "2x seconds", "2  seconds", "Second", "99999999999999 years"]) {
      let caught: unknown;
      try {
        parseDuration(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(EmailError);
      expect((caught as EmailError).toJSON()).toEqual({ code: 500, error: "Internal Server Error", errno: 105, message: `Invalid duration: ${text}` });
    }
  });
});

describe("types/email_address", () => {
  test("parse, uppercase, unicode, whitespace, display names", () => {
    expect(normalizeEmailAddress("foo@example.com")).toBe("foo@example.com");
    expect(normalizeEmailAddress("BAR@EXAMPLE.COM")).toBe("bar@example.com");
    expect(normalizeEmailAddress("٢fooΔ@example.com")).toBe("٢fooδ@example.com");
    expect(normalizeEmailAddress("  foo@example.com  ")).toBe("foo@example.com");
    expect(normalizeEmailAddress("Foo Bar <baz@example.com>")).toBe("baz@example.com");
    expect(normalizeEmailAddress("< wibble@example.com >")).toBe("wibble@example.com");
    expect(normalizeEmailAddress("시험@example.com")).toBe("시험@example.com");
  });

  test("parse_invalid and parse_with_invalid_display_name", () => {
    expect(normalizeEmailAddress("foo@")).toBeUndefined();
    expect(normalizeEmailAddress("Foo Bar >baz@example.com<")).toBeUndefined();
    expect(normalizeEmailAddress("a\r\n@example.com")).toBeUndefined();
  });

  test("parse_invalid's message (the deserialize error)", () => {
    let message = "";
    try {
      parseSendRequest(new TextEncoder().encode('{"to":"foo@"}'));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('Invalid payload: invalid value: string "foo@", expected email address at line 1 column 13');
  });

  test("deserialize: both spellings give the same address", () => {
    expect(normalizeEmailAddress("foo@example.com")).toBe(normalizeEmailAddress("FOO@EXAMPLE.COM")!);
  });
});

describe("types/error", () => {
  const cases: [EmailErrorKind, number, string, number, string][] = [
    ["Internal", 500, "Internal Server Error", 100, "wibble"],
    ["NotImplemented", 500, "Internal Server Error", 101, "Not implemented: wibble"],
    ["InvalidPayload", 400, "Bad Request", 102, "Invalid payload: wibble"],
    ["InvalidNotification", 500, "Internal Server Error", 103, "Invalid notification: wibble"],
    ["QueueError", 500, "Internal Server Error", 104, "wibble"],
    ["InvalidDuration", 500, "Internal Server Error", 105, "Invalid duration: wibble"],
    ["InvalidEnv", 500, "Internal Server Error", 109, "Invalid environment: wibble"],
    ["InvalidLogLevel", 500, "Internal Server Error", 110, "Invalid log level: wibble"],
    ["InvalidLogFormat", 500, "Internal Server Error", 111, "Invalid log format: wibble"],
  ];
  for (const [kind, code, error, errno, message] of cases) {
    test(kind, () => {
      const e = new EmailError(kind, "wibble");
      expect([e.status, e.errno, e.message]).toEqual([code, errno, message]);
      expect(JSON.stringify(e.toJSON())).toBe(JSON.stringify({ code, error, errno, message }));
    });
  }

  const limits: [EmailErrorKind, number, string, string, number][] = [
    ["Complaint", 106, "Complaint limit violated", "baz@example.com", 3],
    ["SoftBounce", 107, "Soft-bounce limit violated", "foo@example.com", 1],
    ["HardBounce", 108, "Hard-bounce limit violated", "bar@example.com", 2],
  ];
  for (const [kind, errno, message, address, time] of limits) {
    test(kind, () => {
      const e = new EmailError(kind, "", { time, problem: "{}", address });
      expect(e.status).toBe(429);
      expect(Object.keys(e.extra).length).toBe(3);
      // Extra fields come after message, in alphabetical order.
      expect(JSON.stringify(e.toJSON())).toBe(JSON.stringify({ code: 429, error: "Too Many Requests", errno, message, address, problem: "{}", time }));
    });
  }
});
