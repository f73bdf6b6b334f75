// Provider selection (upstream providers/test.rs), the mock, the CR/LF policy, and the two HTTPS
// providers (Sendgrid, SocketLabs) against loopback servers speaking their wire formats.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { rejection, outgoingEmail } from "../support/email.ts";
import { EmailError } from "../../src/email/errors.ts";
import { DEFAULT_PROVIDER_TIMEOUT_MS, runProviderCall } from "../../src/email/providers/call.ts";
import { checkHeaderSafety } from "../../src/email/providers/header-safety.ts";
import { createMockProvider } from "../../src/email/providers/mock.ts";
import { PROVIDER_NAMES, type OutgoingEmail } from "../../src/email/providers/provider.ts";
import { createProviderClients } from "../../src/email/providers/clients.ts";
import { buildProviderTable, resolveProvider, type ProviderSettings } from "../../src/email/providers/registry.ts";
import { createSendgridProvider, SENDGRID_BASE_URL } from "../../src/email/providers/sendgrid.ts";
import { createSocketLabsProvider, SOCKETLABS_BASE_URL } from "../../src/email/providers/socketlabs.ts";
import { captureLog } from "../support/log.ts";
import { thrownBy } from "../support/thrown.ts";

const SENDER = { name: "Firefox Accounts", address: "accounts@firefox.com" };

const email = outgoingEmail;


const thrown = (fn: () => unknown): EmailError => thrownBy(EmailError, fn);

/** A loopback HTTP server that records each request and answers with the current `reply`. */
interface Recorded {
  method: string;
  path: string;
  headers: Headers;
  body: unknown;
}
let reply: (request: Request) => Response | Promise<Response> = () => new Response(null, { status: 202, headers: { "X-Message-Id": "sg-1" } });
const requests: Recorded[] = [];
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    const text = await request.text();
    requests.push({ method: request.method, path: new URL(request.url).pathname, headers: request.headers, body: text ? JSON.parse(text) : undefined });
    return reply(request);
  },
});
afterAll(() => server.stop(true));
const baseUrl = `http://127.0.0.1:${server.port}`;
beforeEach(() => {
  requests.length = 0;
});

function settings(overrides: Partial<ProviderSettings> = {}): ProviderSettings {
  return {
    default: "ses",
    forceDefault: false,
    sender: SENDER,
    ses: { region: "us-east-1", endpoint: baseUrl, credentials: { accessKeyId: "AKID", secretAccessKey: "s" } },
    smtp: { host: "127.0.0.1", port: 9999 },
    ...overrides,
  };
}

describe("provider selection (upstream providers/test.rs)", () => {
  test("constructor: without forceDefault several providers; with it exactly one", () => {
    const { log } = captureLog();
    const all = buildProviderTable(settings(), { log, clients: createProviderClients(settings()) });
    expect(all.size).toBeGreaterThan(1);
    const forced = buildProviderTable(settings({ forceDefault: true }), { log, clients: createProviderClients(settings({ forceDefault: true })) });
    expect(forced.size).toBe(1);
    expect([...forced.keys()]).toEqual(["ses"]);
  });

  test("send: forceDefault=mock ignores the requested ses; without forceDefault `mock` is honoured", async () => {
    const { log } = captureLog();
    const forcedSettings = settings({ default: "mock", forceDefault: true });
    const forced = resolveProvider(buildProviderTable(forcedSettings, { log, clients: createProviderClients(forcedSettings) }), "ses", forcedSettings);
    expect(`${forced.name}:${await forced.send(email())}`).toBe("mock:deadbeef");
    const openSettings = settings({ default: "ses", forceDefault: false });
    const chosen = resolveProvider(buildProviderTable(openSettings, { log, clients: createProviderClients(openSettings) }), "mock", openSettings);
    expect(`${chosen.name}:${await chosen.send(email())}`).toBe("mock:deadbeef");
  });
});

describe("provider table and resolution (§4.1)", () => {
  const { log } = captureLog();

  test("mock, ses and smtp always; sendgrid and socketlabs only when configured", () => {
    expect([...buildProviderTable(settings(), { log, clients: createProviderClients(settings()) }).keys()].sort()).toEqual(["mock", "ses", "smtp"]);
    const full = buildProviderTable(settings({ sendgrid: { key: "k" }, socketlabs: { serverId: 1, key: "k" } }), { log, clients: createProviderClients(settings({ sendgrid: { key: "k" }, socketlabs: { serverId: 1, key: "k" } })) });
    expect([...full.keys()].sort()).toEqual([...PROVIDER_NAMES].sort());
    for (const [name, provider] of full) expect(provider.name).toBe(name);
  });

  test("forceDefault builds only the default, and nothing when the default is not configured", () => {
    expect([...buildProviderTable(settings({ default: "smtp", forceDefault: true }), { log, clients: createProviderClients(settings({ default: "smtp", forceDefault: true })) }).keys()]).toEqual(["smtp"]);
    expect(buildProviderTable(settings({ default: "sendgrid", forceDefault: true }), { log, clients: createProviderClients(settings({ default: "sendgrid", forceDefault: true })) }).size).toBe(0);
    expect([...buildProviderTable(settings({ default: "sendgrid", forceDefault: true, sendgrid: { key: "k" } }), { log, clients: createProviderClients(settings({ default: "sendgrid", forceDefault: true, sendgrid: { key: "k" } })) }).keys()]).toEqual(["sendgrid"]);
  });

  test("absent or null provider → the default", () => {
    const s = settings({ default: "smtp" });
    const table = buildProviderTable(s, { log, clients: createProviderClients(s) });
    expect(resolveProvider(table, undefined, s).name).toBe("smtp");
    expect(resolveProvider(table, null, s).name).toBe("smtp");
    expect(resolveProvider(table, "ses", s).name).toBe("ses");
  });

  test("an unknown name is InvalidPayload <name>, the empty string included", () => {
    const s = settings();
    const table = buildProviderTable(s, { log, clients: createProviderClients(s) });
    expect(thrown(() => resolveProvider(table, "wibble", s)).toJSON()).toEqual({ code: 400, error: "Bad Request", errno: 102, message: "Invalid payload: wibble" });
    expect(thrown(() => resolveProvider(table, "", s)).message).toBe("Invalid payload: ");
    expect(thrown(() => resolveProvider(table, "SES", s)).message).toBe("Invalid payload: SES");
    expect(thrown(() => resolveProvider(table, 42, s)).message).toBe("Invalid payload: 42");
  });

  test("a known name missing from the table is `provider <name> is not enabled`", () => {
    const s = settings();
    const table = buildProviderTable(s, { log, clients: createProviderClients(s) });
    expect(thrown(() => resolveProvider(table, "sendgrid", s)).message).toBe("Invalid payload: provider `sendgrid` is not enabled");
    const forced = settings({ default: "sendgrid", forceDefault: true });
    // under forceDefault the request's provider is ignored entirely, even an invalid one
    expect(thrown(() => resolveProvider(buildProviderTable(forced, { log, clients: createProviderClients(forced) }), "wibble", forced)).message).toBe("Invalid payload: provider `sendgrid` is not enabled");
  });

  test("without ses settings there is no SES provider", () => {
    const s = settings({ ses: undefined });
    expect(thrown(() => resolveProvider(buildProviderTable(s, { log, clients: createProviderClients(s) }), "ses", s)).message).toBe("Invalid payload: provider `ses` is not enabled");
  });

  test("the mock accepts anything and answers deadbeef", async () => {
    const mock = createMockProvider();
    expect(mock.name).toBe("mock");
    expect(await mock.send(email({ to: "not an address", subject: "a\r\nb" }))).toBe("deadbeef");
  });
});

describe("provider calls: deadline and failure mapping", () => {
  test("the default deadline is 10 s", () => {
    expect(DEFAULT_PROVIDER_TIMEOUT_MS).toBe(10_000);
  });

  test("a call that outlives its deadline is Internal `<provider> request timed out`, logged", async () => {
    const capture = captureLog();
    const error = await rejection(
      runProviderCall("sendgrid", { log: capture.log, timeoutMs: 30 }, undefined, (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)))),
    );
    expect(error.toJSON()).toEqual({ code: 500, error: "Internal Server Error", errno: 100, message: "sendgrid request timed out after 30 ms" });
    expect(capture.lines).toHaveLength(1);
    expect(capture.lines[0]).toMatchObject({ severity: 3, msg: "Email provider failed", fields: { provider: "sendgrid" } });
  });

  test("anything thrown becomes Internal; EmailErrors pass through; 400s log at warning", async () => {
    const capture = captureLog();
    const deps = { log: capture.log };
    expect((await rejection(runProviderCall("smtp", deps, undefined, async () => Promise.reject(new TypeError("boom"))))).message).toBe("smtp error: boom");
    expect((await rejection(runProviderCall("smtp", deps, undefined, async () => Promise.reject("text")))).message).toBe("smtp error: text");
    const passed = await rejection(runProviderCall("smtp", deps, undefined, async () => Promise.reject(new EmailError("InvalidPayload", "nope"))));
    expect(passed.message).toBe("Invalid payload: nope");
    expect(capture.lines.map((l) => l.severity)).toEqual([3, 3, 4]);
  });
});

describe("CR/LF policy: refuse, never rewrite", () => {
  const cases: [Partial<OutgoingEmail>, string][] = [
    [{ subject: "a\rb" }, "subject contains CR, LF or NUL"],
    [{ subject: "a\nb" }, "subject contains CR, LF or NUL"],
    [{ subject: "a\r\nBcc: x@example.com" }, "subject contains CR, LF or NUL"],
    [{ subject: "a\0b" }, "subject contains CR, LF or NUL"],
    [{ headers: { "X-Uid": "a\r\nX-Evil: 1" } }, "header `X-Uid` contains CR, LF or NUL"],
    [{ headers: { "X-Uid": "a\n\tfolded" } }, "header `X-Uid` contains CR, LF or NUL"],
    [{ headers: { "X-Evil\r\nBcc": "x" } }, 'header name "X-Evil\\r\\nBcc" is not a valid field name'],
    [{ headers: { "X Evil": "x" } }, 'header name "X Evil" is not a valid field name'],
    [{ headers: { "X-Evil:": "x" } }, 'header name "X-Evil:" is not a valid field name'],
    [{ headers: { "": "x" } }, 'header name "" is not a valid field name'],
    [{ headers: { "X-Ünï": "x" } }, 'header name "X-Ünï" is not a valid field name'],
    [{ to: "a@b.com\r\nBcc: x@example.com" }, '`to` address "a@b.com\\r\\nBcc: x@example.com"'],
    [{ cc: ["a@b.com, x@example.com"] }, '`cc` address "a@b.com, x@example.com"'],
  ];
  for (const [overrides, message] of cases) {
    test(`${JSON.stringify(overrides)} → ${message}`, () => {
      expect(thrown(() => checkHeaderSafety(email(overrides))).message).toBe(`Invalid payload: ${message}`);
    });
  }

  test("other characters pass: tabs, unicode, percent and QP look-alikes, U+2028", () => {
    checkHeaderSafety(email({ subject: "tab\t🦀 %0D%0A =0D=0A \u2028 \u0085 \\r\\n", headers: { "X-Uid": "\x01\x7f", "x-lower": "ok" } }));
  });
});

describe("Sendgrid provider (§4.3)", () => {
  const sendgrid = (timeoutMs = 5_000) => {
    const capture = captureLog();
    return { provider: createSendgridProvider({ sender: SENDER, key: "SG.key-1", baseUrl }, { log: capture.log, timeoutMs }), capture };
  };

  test("defaults to api.sendgrid.com", () => {
    expect(SENDGRID_BASE_URL).toBe("https://api.sendgrid.com");
  });

  test("posts the v3 body with a bearer key and returns X-Message-Id", async () => {
    reply = () => new Response(null, { status: 202, headers: { "X-Message-Id": "14c5d75ce93.dfd.64b469" } });
    const id = await sendgrid().provider.send(
      email({ cc: ["c@example.com", "d@example.com"], headers: { "X-Anything": "goes", "Content-Language": "de" }, html: "<p>baz</p>" }),
    );
    expect(id).toBe("14c5d75ce93.dfd.64b469");
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe("/v3/mail/send");
    expect(request!.headers.get("authorization")).toBe("Bearer SG.key-1");
    expect(request!.headers.get("content-type")).toBe("application/json");
    expect(JSON.stringify(request!.body)).toBe(
      JSON.stringify({
        from: { email: "accounts@firefox.com", name: "Firefox Accounts" },
        subject: "bar",
        personalizations: [
          { to: [{ email: "foo@example.com" }], cc: [{ email: "c@example.com" }, { email: "d@example.com" }], headers: { "X-Anything": "goes", "Content-Language": "de" } },
        ],
        content: [
          { type: "text/plain", value: "baz" },
          { type: "text/html", value: "<p>baz</p>" },
        ],
      }),
    );
  });

  test("cc, headers and html only when present; 200 is success too", async () => {
    reply = () => new Response("{}", { status: 200, headers: { "X-Message-Id": "m2" } });
    expect(await sendgrid().provider.send(email())).toBe("m2");
    expect(requests[0]!.body).toEqual({
      from: { email: "accounts@firefox.com", name: "Firefox Accounts" },
      subject: "bar",
      personalizations: [{ to: [{ email: "foo@example.com" }] }],
      content: [{ type: "text/plain", value: "baz" }],
    });
    await sendgrid().provider.send(email({ html: "" }));
    expect((requests[1]!.body as { content: unknown[] }).content).toEqual([
      { type: "text/plain", value: "baz" },
      { type: "text/html", value: "" },
    ]);
  });

  test("a success without X-Message-Id, or with two, is Internal", async () => {
    reply = () => new Response(null, { status: 202 });
    const missing = await rejection(sendgrid().provider.send(email()));
    expect(missing.toJSON()).toEqual({ code: 500, error: "Internal Server Error", errno: 100, message: "Missing or duplicate X-Message-Id header in Sendgrid response" });
    reply = () => {
      const headers = new Headers();
      headers.append("X-Message-Id", "a");
      headers.append("X-Message-Id", "b");
      return new Response(null, { status: 202, headers });
    };
    expect((await rejection(sendgrid().provider.send(email()))).message).toBe("Missing or duplicate X-Message-Id header in Sendgrid response");
  });

  test("other statuses are Internal `Sendgrid response: <status> <reason>, \"<body>\"`", async () => {
    const cases: [number, string, string][] = [
      [400, '{"errors":[{"message":"bad"}]}', 'Sendgrid response: 400 Bad Request, "{\\"errors\\":[{\\"message\\":\\"bad\\"}]}"'],
      [401, "", 'Sendgrid response: 401 Unauthorized, "[no body]"'],
      [500, "oops", 'Sendgrid response: 500 Internal Server Error, "oops"'],
      [201, "", 'Sendgrid response: 201 Created, "[no body]"'],
    ];
    for (const [status, body, message] of cases) {
      reply = () => new Response(body || null, { status, headers: { "X-Message-Id": "ignored" } });
      const { provider, capture } = sendgrid();
      const error = await rejection(provider.send(email()));
      expect(error.status).toBe(500);
      expect(error.message).toBe(message);
      expect(capture.messages()).toEqual(["Email provider failed"]);
    }
  });

  test("a long error body is cut", async () => {
    reply = () => new Response("x".repeat(5000), { status: 500 });
    const error = await rejection(sendgrid().provider.send(email()));
    expect(error.message.length).toBeLessThan(1100);
  });

  test("a server that never answers → timeout → Internal", async () => {
    reply = () => new Promise<Response>(() => {});
    const error = await rejection(sendgrid(200).provider.send(email()));
    expect(error.message).toBe("sendgrid request timed out after 200 ms");
  });

  test("a transport failure is Internal", async () => {
    const capture = captureLog();
    const failing = createSendgridProvider({ sender: SENDER, key: "k", baseUrl }, { log: capture.log, fetch: (async () => Promise.reject(new TypeError("fetch failed"))) as unknown as typeof fetch });
    expect((await rejection(failing.send(email()))).message).toBe("sendgrid error: fetch failed");
  });

  test("CR/LF in a header is refused before any request", async () => {
    const error = await rejection(sendgrid().provider.send(email({ headers: { "X-Uid": "a\r\nb" } })));
    expect(error.status).toBe(400);
    expect(requests).toHaveLength(0);
  });
});

describe("SocketLabs provider (§4.4)", () => {
  const socketlabs = (timeoutMs = 5_000) => {
    const capture = captureLog();
    const provider = createSocketLabsProvider(
      { sender: SENDER, serverId: 4242, key: "sl-key", baseUrl },
      { log: capture.log, timeoutMs, randomUUID: () => "6f2c3b4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f" },
    );
    return { provider, capture };
  };

  test("defaults to inject.socketlabs.com", () => {
    expect(SOCKETLABS_BASE_URL).toBe("https://inject.socketlabs.com");
  });

  test("posts the PascalCase injection body and returns the UUID it generated", async () => {
    reply = () => Response.json({ ErrorCode: "Success", MessageResults: [], TransactionReceipt: null });
    const id = await socketlabs().provider.send(email({ cc: ["c@example.com"], headers: { "X-Uid": "u1", "X-Other": "o" }, html: "<p>baz</p>" }));
    expect(id).toBe("6f2c3b4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
    const [request] = requests;
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe("/api/v1/email");
    expect(request!.headers.get("content-type")).toBe("application/json");
    expect(JSON.stringify(request!.body)).toBe(
      JSON.stringify({
        ServerId: 4242,
        ApiKey: "sl-key",
        Messages: [
          {
            To: [{ EmailAddress: "foo@example.com" }],
            From: { EmailAddress: "accounts@firefox.com", FriendlyName: "Firefox Accounts" },
            Subject: "bar",
            TextBody: "baz",
            HtmlBody: "<p>baz</p>",
            MessageId: "6f2c3b4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
            CustomHeaders: [
              { Name: "X-Uid", Value: "u1" },
              { Name: "X-Other", Value: "o" },
            ],
            Cc: [{ EmailAddress: "c@example.com" }],
          },
        ],
      }),
    );
  });

  test("HtmlBody, CustomHeaders and Cc are omitted when absent; ids are fresh UUID v4s by default", async () => {
    reply = () => Response.json({ ErrorCode: "Success" });
    const capture = captureLog();
    const provider = createSocketLabsProvider({ sender: SENDER, serverId: 1, key: "k", baseUrl }, { log: capture.log });
    const first = await provider.send(email());
    const second = await provider.send(email());
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first).not.toBe(second);
    expect(Object.keys((requests[0]!.body as { Messages: Record<string, unknown>[] }).Messages[0]!)).toEqual(["To", "From", "Subject", "TextBody", "MessageId"]);
  });

  test("each ErrorCode other than Success is Internal `SocketLabs error: <description>`", async () => {
    const cases: [unknown, string][] = [
      ["InvalidAuthentication", "The ServerId/ApiKey combination is invalid."],
      ["Warning", "There were one or more failed messages and/or recipients."],
      ["AccountDisabled", "The account has been disabled."],
      ["InternalError", "Internal server error. (Please report to SocketLabs support if encountered.)"],
      ["InvalidData", "PostBody parameter does not have a valid structure, or contains invalid or missing data."],
      ["NoMessages", "There were no messages to inject included in the request."],
      ["EmptyMessage", "One or more messages have insufficient content to process."],
      ["OverQuota", "Rate limit exceeded."],
      ["TooManyErrors", "Authentication error limit exceeded."],
      ["TooManyMessages", "Too many messages in a single request."],
      ["TooManyRecipients", "Too many recipients in a single message."],
      ["NoValidRecipients", "A merge was attempted, but there were no valid recipients."],
      ["Wibble", "SocketLabs returned an unknown error code."],
      ["toString", "SocketLabs returned an unknown error code."],
      [7, "SocketLabs returned an unknown error code."],
      [undefined, "SocketLabs returned an unknown error code."],
    ];
    for (const [code, description] of cases) {
      reply = () => Response.json(code === undefined ? {} : { ErrorCode: code });
      const { provider, capture } = socketlabs();
      const error = await rejection(provider.send(email()));
      expect(error.toJSON()).toEqual({ code: 500, error: "Internal Server Error", errno: 100, message: `SocketLabs error: ${description}` });
      expect(capture.messages()).toEqual(["Email provider failed"]);
    }
  });

  test("a non-2xx status or a body that is not JSON is Internal", async () => {
    reply = () => new Response("down for maintenance", { status: 503 });
    expect((await rejection(socketlabs().provider.send(email()))).message).toBe('SocketLabs response: 503 Service Unavailable, "down for maintenance"');
    reply = () => new Response("<html>", { status: 200 });
    expect((await rejection(socketlabs().provider.send(email()))).message).toBe('SocketLabs response is not JSON: "<html>"');
    reply = () => new Response("null", { status: 200 });
    expect((await rejection(socketlabs().provider.send(email()))).message).toBe("SocketLabs error: SocketLabs returned an unknown error code.");
  });

  test("a server that never answers → timeout → Internal", async () => {
    reply = () => new Promise<Response>(() => {});
    expect((await rejection(socketlabs(200).provider.send(email()))).message).toBe("socketlabs request timed out after 200 ms");
  });
});
