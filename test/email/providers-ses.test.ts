// The SES provider against a loopback server speaking the SES v2 REST-JSON wire format.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { rejection } from "../support/email.ts";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { EmailError } from "../../src/email/errors.ts";
import type { OutgoingEmail } from "../../src/email/providers/provider.ts";
import { createSesClient } from "../../src/email/providers/clients.ts";
import { createSesProvider } from "../../src/email/providers/ses.ts";
import { captureLog } from "../support/log.ts";
import { leafParts, partText, readEntity } from "../support/mime-reader.ts";

interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: { Content?: { Raw?: { Data?: string } } } & Record<string, unknown>;
}

type Reply = () => Response | Promise<Response>;
const received: Received[] = [];
let reply: Reply = () => Response.json({ MessageId: "woopwoop" });

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    const url = new URL(request.url);
    received.push({ method: request.method, path: url.pathname, headers: request.headers, body: (await request.json()) as Received["body"] });
    return reply();
  },
});
afterAll(() => server.stop(true));

const endpoint = `http://127.0.0.1:${server.port}`;
const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };
const awsError = (status: number, type: string, message?: string) =>
  new Response(JSON.stringify(message === undefined ? {} : { message }), {
    status,
    headers: { "content-type": "application/json", "x-amzn-ErrorType": type, "x-amzn-RequestId": "req-1" },
  });

const email = (overrides: Partial<OutgoingEmail> = {}): OutgoingEmail => ({ to: "b@b.com", cc: [], subject: "subject", headers: {}, text: "body", ...overrides });

function provider(timeoutMs = 5_000, sender = { name: "Foo Bar", address: "a@a.com" }) {
  const capture = captureLog();
  const client = createSesClient({ region: "us-east-1", endpoint, credentials }, timeoutMs);
  const ses = createSesProvider({ sender }, { log: capture.log, timeoutMs, client });
  return { ses, capture };
}


/** The raw MIME the server received, decoded from the base64 Content.Raw.Data. */
const rawMessage = (r: Received) => Buffer.from(r.body.Content!.Raw!.Data!, "base64").toString("utf8");

beforeEach(() => {
  received.length = 0;
  reply = () => Response.json({ MessageId: "woopwoop" });
});

describe("SES provider (upstream providers/ses/test.rs)", () => {
  test("ses_send_handles_ok_response", async () => {
    const { ses } = provider();
    expect(await ses.send(email())).toBe("woopwoop");
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe("POST");
    expect(received[0]!.path).toBe("/v2/email/outbound-emails");
    // Only the raw content: SES reads sender and recipients from the headers.
    expect(Object.keys(received[0]!.body)).toEqual(["Content"]);
    expect(Object.keys(received[0]!.body.Content!)).toEqual(["Raw"]);
    expect(received[0]!.headers.get("authorization")).toContain("AWS4-HMAC-SHA256 Credential=AKIDTEST/");
  });

  test("ses_send_handles_unicode_characters", async () => {
    const { ses } = provider(5_000, { name: "Foo Bar", address: "٢fooΔ@a.com" });
    expect(await ses.send(email({ to: "시험@b.com", subject: "🦀 시험 🦀", text: "🦀 시험 🦀", html: "<p>🦀 시험 🦀</p>" }))).toBe("woopwoop");
    const root = readEntity(rawMessage(received[0]!));
    expect(root.get("From")).toBe("Foo Bar <٢fooΔ@a.com>");
    expect(root.get("To")).toBe("시험@b.com");
    expect(root.get("Subject")).toBe("🦀 시험 🦀");
    expect(leafParts(root).map(partText)).toEqual(["🦀 시험 🦀", "<p>🦀 시험 🦀</p>"]);
  });

  test("ses_send_handles_error_response: a 500 with a non-JSON body is Internal, errno 100", async () => {
    reply = () => new Response("FREAKOUT", { status: 500 });
    const { ses, capture } = provider();
    const error = await rejection(ses.send(email()));
    expect(error.status).toBe(500);
    expect(error.errno).toBe(100);
    expect(error.toJSON().error).toBe("Internal Server Error");
    // The SDK cannot parse "FREAKOUT" as JSON; the status survives into the message.
    expect(error.message).toStartWith("SES error: ");
    expect(error.message).toContain("(HTTP 500)");
    expect(error.message).not.toContain("\n");
    expect(capture.lines.some((l) => l.msg === "Email provider failed" && l.severity === 3)).toBe(true);
  });

  test("ses_send_handles_invalid_domain_response: InvalidParameterValue is InvalidPayload with SES's message", async () => {
    reply = () => awsError(400, "InvalidParameterValue", "Invalid domain name: gmail.com.com");
    const { ses } = provider();
    const error = await rejection(ses.send(email({ to: "blee@gmail.com.com" })));
    expect(error.toJSON()).toEqual({ code: 400, error: "Bad Request", errno: 102, message: "Invalid payload: Invalid domain name: gmail.com.com" });
  });
});

describe("SES provider: wire format and error mapping", () => {
  test("the SDK reads our error responses as the service's error names", async () => {
    const client = new SESv2Client({ region: "us-east-1", endpoint, credentials, maxAttempts: 1 });
    const cases: [number, string, string][] = [
      [400, "BadRequestException", "BadRequestException"],
      [400, "InvalidParameterValue", "InvalidParameterValue"],
      [400, "MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/", "MessageRejected"],
      [429, "TooManyRequestsException", "TooManyRequestsException"],
      [400, "AccountSuspendedException", "AccountSuspendedException"],
    ];
    for (const [status, type, name] of cases) {
      reply = () => awsError(status, type, `because ${name}`);
      const error = await client.send(new SendEmailCommand({ Content: { Raw: { Data: new Uint8Array([1]) } } })).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe(name);
      expect((error as Error).message).toBe(`because ${name}`);
    }
  });

  test("BadRequestException (SES v2's invalid-input error) is a 400 too", async () => {
    reply = () => awsError(400, "BadRequestException", "Missing final '@domain'");
    const error = await rejection(provider().ses.send(email()));
    expect(error.status).toBe(400);
    expect(error.message).toBe("Invalid payload: Missing final '@domain'");
  });

  test("an InvalidParameterValue without a message says `Invalid parameter`", async () => {
    reply = () => awsError(400, "InvalidParameterValue");
    const error = await rejection(provider().ses.send(email()));
    expect(error.message).toBe("Invalid payload: Invalid parameter");
  });

  test("other service errors are 500 errno 100 and logged, never thrown raw", async () => {
    for (const [status, type] of [
      [400, "MessageRejected"],
      [400, "AccountSuspendedException"],
      [429, "TooManyRequestsException"],
      [500, "InternalFailure"],
      [503, "ServiceUnavailable"],
    ] as const) {
      reply = () => awsError(status, type, `no: ${type}`);
      const { ses, capture } = provider();
      const error = await rejection(ses.send(email()));
      expect(error.status).toBe(500);
      expect(error.errno).toBe(100);
      expect(error.message).toBe(`SES error: ${type} (HTTP ${status}): no: ${type}`);
      expect(capture.messages()).toEqual(["Email provider failed"]);
    }
    expect(received).toHaveLength(5); // no SDK retries: the caller decides
  });

  test("a response without MessageId is Internal", async () => {
    reply = () => Response.json({});
    const error = await rejection(provider().ses.send(email()));
    expect(error.status).toBe(500);
    expect(error.message).toBe("SES response has no MessageId");
  });

  test("a server that never answers times out → Internal", async () => {
    reply = () => new Promise<Response>(() => {});
    const started = performance.now();
    const error = await rejection(provider(300).ses.send(email()));
    expect(error.status).toBe(500);
    expect(error.message).toBe("ses request timed out after 300 ms");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("the caller's signal aborts the call", async () => {
    const controller = new AbortController();
    reply = () => {
      controller.abort(); // the caller gives up once the request has reached SES
      return new Promise<Response>(() => {});
    };
    const pending = provider(10_000).ses.send(email(), { signal: controller.signal });
    const error = await rejection(pending);
    expect(error.message).toBe("ses request was aborted");
  });

  test("a refused connection is Internal", async () => {
    const capture = captureLog();
    const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = closed.port;
    await closed.stop(true);
    const client = createSesClient({ region: "us-east-1", endpoint: `http://127.0.0.1:${port}`, credentials }, 5_000);
    const ses = createSesProvider({ sender: { name: "x", address: "a@a.com" } }, { log: capture.log, timeoutMs: 5_000, client });
    const error = await rejection(ses.send(email()));
    expect(error.status).toBe(500);
    expect(error.errno).toBe(100);
  });

  test("an injected client is used as given", async () => {
    const capture = captureLog();
    const client = new SESv2Client({ region: "eu-west-1", endpoint, credentials, maxAttempts: 1 });
    const ses = createSesProvider({ sender: { name: "x", address: "a@a.com" } }, { log: capture.log, client });
    expect(await ses.send(email())).toBe("woopwoop");
    expect(received[0]!.headers.get("authorization")).toContain("/eu-west-1/ses/aws4_request");
  });

  test("the raw message has the §4.2 layout: allow-listed headers only, cc, text and html parts", async () => {
    const { ses } = provider();
    await ses.send(
      email({
        cc: ["c@c.com", "d@d.com"],
        headers: { "content-language": "en-gb", "X-SES-MESSAGE-TAGS": "messageType=fxa-verifyEmail, app=fxa", "X-Not-Allowed": "dropped" },
        html: "<p>body</p>",
      }),
    );
    const raw = rawMessage(received[0]!);
    const lines = raw.split("\r\n");
    expect(lines.slice(0, 6)).toEqual(["Sender: Foo Bar <a@a.com>", "From: Foo Bar <a@a.com>", "To: b@b.com", "Subject: subject", "MIME-Version: 1.0", "Cc: c@c.com, d@d.com"]);
    expect(lines.slice(6, 8)).toEqual(["Content-Language: en-gb", "X-SES-MESSAGE-TAGS: messageType=fxa-verifyEmail, app=fxa"]);
    expect(lines[8]).toMatch(/^Content-Type: multipart\/mixed; boundary="=_[0-9a-f]{32}"$/);
    expect(raw).not.toContain("X-Not-Allowed");
    const root = readEntity(raw);
    expect(root.fields.map((f) => f.name)).not.toContain("Date");
    expect(leafParts(root).map((p) => [p.get("Content-Type"), p.get("Content-Transfer-Encoding"), partText(p)])).toEqual([
      ["text/plain; charset=utf-8", "quoted-printable", "body"],
      ["text/html; charset=utf-8", "base64", "<p>body</p>"],
    ]);
  });

  test("a subject or header value with CR or LF is refused before anything is sent", async () => {
    const { ses } = provider();
    const subject = await rejection(ses.send(email({ subject: "hi\r\nBcc: evil@example.com" })));
    expect(subject.message).toBe("Invalid payload: subject contains CR, LF or NUL");
    const header = await rejection(ses.send(email({ headers: { "X-Uid": "u\nBcc: evil@example.com" } })));
    expect(header.message).toBe("Invalid payload: header `X-Uid` contains CR, LF or NUL");
    expect(received).toHaveLength(0);
  });
});
