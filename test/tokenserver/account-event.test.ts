// Decoding rules of spec/tokenserver.md §3.4–3.5, with our deliberate difference: inputs the original
// crashed on (TypeError rows) are invalid here rather than poison messages.
import { describe, expect, test } from "bun:test";
import { decodeAccountEvent } from "../../src/tokenserver/account-event.ts";
import { pythonRepr } from "../../src/tokenserver/python-text.ts";

const body = (event: unknown) => JSON.stringify({ Message: JSON.stringify(event) });

describe("decodeAccountEvent", () => {
  test("delete / reset / passwordChange with iss", () => {
    expect(decodeAccountEvent(body({ event: "delete", uid: "test", iss: "example.com" }))).toEqual({ kind: "delete", email: "test@example.com" });
    expect(decodeAccountEvent(body({ event: "reset", uid: "test", iss: "example.com", generation: 43 }))).toEqual({
      kind: "reset", email: "test@example.com", generation: 43n,
    });
    expect(decodeAccountEvent(body({ event: "passwordChange", uid: "test", iss: "example.com", generation: 43 }))).toEqual({
      kind: "passwordChange", email: "test@example.com", generation: 43n,
    });
  });

  test("legacy uid that is already an email", () => {
    expect(decodeAccountEvent(body({ event: "delete", uid: "test@example.com" }))).toEqual({ kind: "delete", email: "test@example.com" });
  });

  test("Python str() of uid and iss: 123, None, iss wins over a legacy uid", () => {
    expect(decodeAccountEvent(body({ event: "delete", uid: 123, iss: "example.com" }))).toEqual({ kind: "delete", email: "123@example.com" });
    expect(decodeAccountEvent(body({ event: "delete", uid: "test", iss: null }))).toEqual({ kind: "delete", email: "test@None" });
    expect(decodeAccountEvent(body({ event: "delete", uid: "test@example.com", iss: "example.com" }))).toEqual({
      kind: "delete", email: "test@example.com@example.com",
    });
  });

  test("unknown event types (including null) are 'unknown', checked after the uid", () => {
    expect(decodeAccountEvent(body({ event: "party", uid: "test", iss: "example.com", generation: 43 }))).toEqual({
      kind: "unknown", email: "test@example.com", eventType: "party",
    });
    expect(decodeAccountEvent(body({ event: null, uid: "test", iss: "example.com" }))).toMatchObject({ kind: "unknown", eventType: null });
    expect(decodeAccountEvent(body({ event: "Delete", uid: "test", iss: "example.com" }))).toMatchObject({ kind: "unknown" });
    expect(decodeAccountEvent(body({ event: "party", iss: "example.com" }))).toMatchObject({ kind: "invalid" });
  });

  test("what the original logged as invalid is invalid", () => {
    const cases: [string, string][] = [
      [body({ uid: "test", iss: "example.com" }), "'event'"],
      [body({ event: "delete", iss: "example.com" }), "'uid'"],
      [body({ event: "reset", uid: "test", iss: "example.com" }), "'generation'"],
      [body({ event: "passwordChange", uid: "test", iss: "example.com" }), "'generation'"],
      [body({ event: "delete", uid: "test" }), "uid field does not contain issuer info"],
      ["wat", "body is not JSON"],
      [JSON.stringify({ Message: "wat" }), "'Message' is not JSON"],
      ['{ "Message": "[1, 2, 3"] }', "body is not JSON"],
      [JSON.stringify({ event: "delete", uid: "a@b" }), "'Message'"],
    ];
    for (const [input, reason] of cases) expect(decodeAccountEvent(input)).toEqual({ kind: "invalid", reason });
  });

  test("what crashed the original (TypeError) is invalid, not a poison message", () => {
    const inputs = [
      "[1,2]",
      '"hello"',
      "null",
      "",
      JSON.stringify({ Message: "123" }),
      JSON.stringify({ Message: "[1,2]" }),
      JSON.stringify({ Message: { event: "delete", uid: "a@b" } }),
      body({ event: "delete", uid: 123 }),
      body({ event: "reset", uid: "test", iss: "example.com", generation: null }),
      body({ event: "reset", uid: "test", iss: "example.com", generation: "43" }),
      body({ event: "reset", uid: "test", iss: "example.com", generation: 43.7 }),
      body({ event: "reset", uid: "test", iss: "example.com", generation: 1e30 }),
      body({ event: "delete", uid: { a: 1 }, iss: "example.com" }),
      body({ event: "delete", uid: "x", iss: ["example.com"] }),
      body({ event: "delete", uid: "x\u0000y", iss: "example.com" }),
    ];
    for (const input of inputs) expect(decodeAccountEvent(input).kind).toBe("invalid");
    expect(decodeAccountEvent(undefined).kind).toBe("invalid");
  });

  test("a full SNS notification envelope is unwrapped", () => {
    const sns = JSON.stringify({
      Type: "Notification",
      MessageId: "9a0e6d1c",
      TopicArn: "arn:aws:sns:us-east-1:000000000000:fxa-account-events",
      Message: JSON.stringify({ event: "delete", uid: "abc", iss: "api.accounts.firefox.com", ts: 1700000000 }),
      Timestamp: "2026-11-24T00:00:00.000Z",
      SignatureVersion: "1",
    });
    expect(decodeAccountEvent(sns)).toEqual({ kind: "delete", email: "abc@api.accounts.firefox.com" });
  });
});

describe("pythonRepr", () => {
  test("quotes like CPython", () => {
    expect(pythonRepr("test@example.com")).toBe("'test@example.com'");
    expect(pythonRepr("it's")).toBe('"it\'s"');
    expect(pythonRepr(`a'b"c`)).toBe(`'a\\'b"c'`);
    expect(pythonRepr("line\nbreak\\")).toBe("'line\\nbreak\\\\'");
    expect(pythonRepr(null)).toBe("None");
    expect(pythonRepr(5)).toBe("5");
  });
});
