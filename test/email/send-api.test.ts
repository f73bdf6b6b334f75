// POST /send and the health routes in process (app.request) against real PostgreSQL: the upstream
// api/send and api/healthcheck cases (spec/email.md §12.1, §12.2) with their exact bodies, check_all
// through the API, routing, limits, provider failures, the bearer token and request logging.
import { beforeEach, describe, expect, test } from "bun:test";
import { createSql } from "../../src/db/client.ts";
import { insertBounce } from "../../src/email/bounce-store.ts";
import { EmailError } from "../../src/email/errors.ts";
import { MAX_SEND_BODY_BYTES } from "../../src/email/send-api.ts";
import { createEmailTestDb, DEFAULT_LIMITS, JSON_HEADERS, limitsFrom, postSend, recordingProvider, resolverFor, TEST_VERSION, testApp } from "../support/email.ts";
import { readVector } from "../support/vectors.ts";

interface SendCase {
  name: string;
  body: string;
  status: number;
  response?: Record<string, unknown>;
  responseExact?: string;
}
const sendCases = readVector<{ cases: SendCase[]; extra: SendCase[] }>("email/api/send-cases.json");
const healthCases = readVector<{ cases: { name: string; path: string; status: number; responseExact?: string; responseSubset?: Record<string, unknown> }[] }>("email/api/health-cases.json");

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const sendBody = (fields: Record<string, unknown> = {}) => JSON.stringify({ to: "foo@example.com", subject: "bar", body: { text: "baz" }, ...fields });
const DAY = 86_400_000;
const json = async (response: Response) => (await response.json()) as Record<string, any>;

describe("upstream api/send/test.rs (send-cases.json)", () => {
  for (const c of sendCases.cases) {
    test(c.name, async () => {
      const { app, provider } = testApp(db.sql);
      const response = await postSend(app, c.body);
      expect(response.status).toBe(c.status);
      expect(response.headers.get("content-type")).toStartWith("application/json");
      const text = await response.text();
      // The vector's response objects are written in the wire's key order, so the text must match.
      expect(text).toBe(c.responseExact ?? JSON.stringify(c.response));
      expect(provider.sent.length).toBe(c.status === 200 ? 1 : 0);
    });
  }

  test("the sent message carries the normalised addresses and the body as given", async () => {
    const { app, provider } = testApp(db.sql);
    const response = await postSend(app, sendBody({ to: "Foo Bar <FOO@Example.COM>", cc: ["  Baz@Example.com "], headers: { "X-Uid": "u1" }, body: { text: "t", html: "" } }));
    expect(response.status).toBe(200);
    expect(provider.sent).toEqual([{ to: "foo@example.com", cc: ["baz@example.com"], subject: "bar", headers: { "X-Uid": "u1" }, text: "t", html: "" }]);
  });

  test("hard_bounce_429_shape: the exact 429 body", async () => {
    const [extra] = sendCases.extra;
    const createdAt = 1546300800123;
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt });
    const { app, provider } = testApp(db.sql, { now: () => createdAt + 3_600_000 });
    const response = await postSend(app, sendBody({ to: "bar@example.com" }));
    expect(response.status).toBe(extra!.status);
    expect(await response.text()).toBe(extra!.responseExact!);
    expect(provider.sent).toEqual([]);
  });
});

describe("upstream api/healthcheck/test.rs (health-cases.json)", () => {
  for (const c of healthCases.cases) {
    test(c.name, async () => {
      const unreachable = c.name === "unsuccessful_heartbeat" ? createSql("postgres://postgres@127.0.0.1:1/nowhere", { max: 1, connectTimeout: 2 }) : undefined;
      try {
        const { app, captured } = testApp(unreachable ?? db.sql, { version: TEST_VERSION });
        const response = await app.request(c.path);
        expect(response.status).toBe(c.status);
        if (c.responseExact !== undefined) expect(await response.text()).toBe(c.responseExact);
        if (c.responseSubset) {
          expect(await json(response)).toMatchObject(c.responseSubset);
          expect(captured.lines.find((l) => l.msg === "Request errored")?.severity).toBe(3);
        }
      } finally {
        await unreachable?.end({ timeout: 1 });
      }
    });
  }

  test("HEAD is answered on the GET routes", async () => {
    const { app } = testApp(db.sql);
    for (const path of ["/__lbheartbeat__", "/__heartbeat__", "/__version__"]) {
      expect((await app.request(path, { method: "HEAD" })).status).toBe(200);
    }
  });
});

describe("delivery-problem checks through /send (check_all, spec/email.md §5.4)", () => {
  test("a bouncing `to` is replaced by the last surviving cc", async () => {
    const now = Date.now();
    await insertBounce(db.sql, { email: "foo@example.com", bounceType: 1, bounceSubType: 2, createdAt: now - 1000 });
    const { app, provider } = testApp(db.sql);
    const response = await postSend(app, sendBody({ cc: ["bar@example.com", "baz@example.com"] }));
    expect(response.status).toBe(200);
    expect(provider.sent.map(({ to, cc }) => ({ to, cc }))).toEqual([{ to: "baz@example.com", cc: ["bar@example.com"] }]);
  });

  test("a bouncing cc is dropped", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 3, bounceSubType: 9, createdAt: Date.now() - 1000 });
    const { app, provider } = testApp(db.sql);
    expect((await postSend(app, sendBody({ cc: ["bar@example.com", "baz@example.com"] }))).status).toBe(200);
    expect(provider.sent.map(({ to, cc }) => ({ to, cc }))).toEqual([{ to: "foo@example.com", cc: ["baz@example.com"] }]);
  });

  test("when everybody bounces, the `to` address's 429 comes back and nothing is sent", async () => {
    const now = Date.now();
    for (const email of ["foo@example.com", "bar@example.com"]) await insertBounce(db.sql, { email, bounceType: 2, bounceSubType: 5, createdAt: now - 1000 });
    const { app, provider, captured } = testApp(db.sql);
    const response = await postSend(app, sendBody({ cc: ["bar@example.com"] }));
    expect(response.status).toBe(429);
    const body = await json(response);
    expect(Object.keys(body)).toEqual(["code", "error", "errno", "message", "address", "problem", "time"]);
    expect(body).toMatchObject({ code: 429, error: "Too Many Requests", errno: 107, message: "Soft-bounce limit violated", address: "foo@example.com", time: now - 1000 });
    expect(JSON.parse(body.problem)).toEqual({ address: "foo@example.com", problem_type: 2, problem_subtype: 5, created_at: new Date(now - 1000).toISOString() });
    expect(provider.sent).toEqual([]);
    const logged = captured.lines.find((l) => l.msg === "Request errored")!;
    expect(logged.fields).toMatchObject({ code: 429, errno: 107, path: "/send", method: "POST" });
    expect(JSON.parse(logged.fields.additional_fields as string)).toMatchObject({ address: "foo@example.com" });
  });

  test("addresses are checked in their normalised form", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 3, createdAt: Date.now() - 1000 });
    const { app } = testApp(db.sql);
    const response = await postSend(app, sendBody({ to: "Bar <BAR@Example.com>" }));
    expect(response.status).toBe(429);
    expect((await json(response)).address).toBe("bar@example.com");
  });

  test("old problems do not refuse (default limits: one hard bounce a year is tolerated)", async () => {
    await insertBounce(db.sql, { email: "foo@example.com", bounceType: 1, bounceSubType: 2, createdAt: Date.now() - 2 * DAY });
    const { app } = testApp(db.sql);
    expect((await postSend(app, sendBody())).status).toBe(200);
  });

  test("the bounce check comes before provider resolution: bouncing address + unknown provider → 429", async () => {
    await insertBounce(db.sql, { email: "foo@example.com", bounceType: 1, bounceSubType: 2, createdAt: Date.now() - 1000 });
    const { app } = testApp(db.sql);
    expect((await postSend(app, sendBody({ provider: "wibble" }))).status).toBe(429);
  });

  test("deliveryproblemlimits.enabled = false really disables the checks", async () => {
    await insertBounce(db.sql, { email: "foo@example.com", bounceType: 1, bounceSubType: 2, createdAt: Date.now() - 1000 });
    const { app, provider } = testApp(db.sql, { limits: { ...DEFAULT_LIMITS, enabled: false } });
    expect((await postSend(app, sendBody())).status).toBe(200);
    expect(provider.sent.length).toBe(1);
  });

  test("a database failure during the check is a 500 errno 100, and nothing is sent", async () => {
    const down = createSql("postgres://postgres@127.0.0.1:1/nowhere", { max: 1, connectTimeout: 2 });
    try {
      const { app, provider } = testApp(down);
      const response = await postSend(app, sendBody());
      expect(response.status).toBe(500);
      expect(await json(response)).toMatchObject({ code: 500, error: "Internal Server Error", errno: 100 });
      expect(provider.sent).toEqual([]);
    } finally {
      await down.end({ timeout: 1 });
    }
  });
});

describe("providers (spec/email.md §4.1)", () => {
  test("an unknown provider name is a 400", async () => {
    const { app } = testApp(db.sql);
    const response = await postSend(app, sendBody({ provider: "wibble" }));
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('{"code":400,"error":"Bad Request","errno":102,"message":"Invalid payload: wibble"}');
  });

  test("a provider that is not enabled is a 400", async () => {
    const { app } = testApp(db.sql);
    const response = await postSend(app, sendBody({ provider: "ses" }));
    expect(response.status).toBe(400);
    expect((await json(response)).message).toBe("Invalid payload: provider `ses` is not enabled");
  });

  test("the message id is prefixed with the provider that sent it", async () => {
    const ses = recordingProvider("ses", "0101abc");
    const { app } = testApp(db.sql, { resolveProvider: resolverFor([recordingProvider(), ses]) });
    expect(await json(await postSend(app, sendBody({ provider: "ses" })))).toEqual({ messageId: "ses:0101abc" });
    expect(ses.sent.length).toBe(1);
  });

  test("a provider failure is a 500 errno 100, logged with its cause", async () => {
    const failing = recordingProvider("mock", "x", () => new Error("connection reset by provider"));
    const { app, captured } = testApp(db.sql, { provider: failing });
    const response = await postSend(app, sendBody());
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('{"code":500,"error":"Internal Server Error","errno":100,"message":"connection reset by provider"}');
    const logged = captured.lines.find((l) => l.msg === "Request errored")!;
    expect(logged.severity).toBe(3);
    expect(logged.fields).toMatchObject({ code: 500, errno: 100, message: "connection reset by provider" });
  });

  test("a provider's own EmailError (SES InvalidParameterValue) keeps its status", async () => {
    const rejecting = recordingProvider("mock", "x", () => new EmailError("InvalidPayload", "Invalid domain name: gmail.com.com"));
    const { app } = testApp(db.sql, { provider: rejecting });
    const response = await postSend(app, sendBody());
    expect(response.status).toBe(400);
    expect((await json(response)).message).toBe("Invalid payload: Invalid domain name: gmail.com.com");
  });
});

describe("routing, content type and body limit", () => {
  test("anything but POST /send with a JSON content type is a JSON 404", async () => {
    const { app, provider } = testApp(db.sql);
    const cases: [string, RequestInit][] = [
      ["/send", { method: "POST", body: sendBody() }],
      ["/send", { method: "POST", headers: { "content-type": "text/plain" }, body: sendBody() }],
      ["/send", { method: "POST", headers: { "content-type": "application/jsonx" }, body: sendBody() }],
      ["/send", { method: "GET" }],
      ["/send", { method: "PUT", headers: JSON_HEADERS, body: sendBody() }],
      ["/nope", { method: "GET" }],
      ["/", { method: "GET" }],
    ];
    for (const [path, init] of cases) {
      const response = await app.request(path, init);
      expect(response.status).toBe(404);
      expect(await json(response)).toMatchObject({ code: 404, error: "Not Found", errno: 999 });
    }
    expect(provider.sent).toEqual([]);
  });

  test("content-type parameters and case are ignored", async () => {
    const { app } = testApp(db.sql);
    expect((await postSend(app, sendBody(), { "content-type": "Application/JSON; charset=utf-8" })).status).toBe(200);
  });

  test(`bodies up to ${MAX_SEND_BODY_BYTES} bytes are read, larger ones are a 400`, async () => {
    const { app, provider } = testApp(db.sql);
    const base = sendBody({ body: { text: "" } });
    const fits = sendBody({ body: { text: "x".repeat(MAX_SEND_BODY_BYTES - base.length) } });
    expect(fits.length).toBe(MAX_SEND_BODY_BYTES);
    expect((await postSend(app, fits)).status).toBe(200);
    const tooBig = await postSend(app, sendBody({ body: { text: "x".repeat(MAX_SEND_BODY_BYTES) } }));
    expect(tooBig.status).toBe(400);
    expect(await json(tooBig)).toEqual({ code: 400, error: "Bad Request", errno: 102, message: `Invalid payload: request body larger than ${MAX_SEND_BODY_BYTES} bytes` });
    expect(provider.sent.length).toBe(1);
  });

  test("a chunked body without Content-Length is cut off at the limit", async () => {
    const { app, provider } = testApp(db.sql);
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await app.request(new Request("http://localhost/send", { method: "POST", headers: JSON_HEADERS, body: stream, duplex: "half" } as RequestInit));
    expect(response.status).toBe(400);
    expect(sent).toBeLessThan(64); // the rest of the stream was never pulled
    expect(provider.sent).toEqual([]);
  });
});

describe("bearer token (FXA_EMAIL_AUTH_TOKEN)", () => {
  const token = "a-long-enough-test-token";
  test("/send needs it when configured; the health routes never do", async () => {
    const { app, provider } = testApp(db.sql, { authToken: token });
    for (const authorization of [undefined, "Bearer wrong-token", `Basic ${token}`, `Bearer ${token}x`, "Bearer"]) {
      const response = await postSend(app, sendBody(), { ...JSON_HEADERS, ...(authorization ? { authorization } : {}) });
      expect(response.status).toBe(401);
      expect(await json(response)).toEqual({ code: 401, error: "Unauthorized", errno: 999, message: "Missing or invalid bearer token" });
    }
    expect(provider.sent).toEqual([]);
    expect((await postSend(app, sendBody(), { ...JSON_HEADERS, authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await postSend(app, sendBody(), { ...JSON_HEADERS, authorization: `bearer ${token}` })).status).toBe(200);
    for (const path of ["/__lbheartbeat__", "/__heartbeat__", "/__version__"]) expect((await app.request(path)).status).toBe(200);
  });

  test("without a token /send is open and /bounces does not exist", async () => {
    const { app } = testApp(db.sql);
    expect((await postSend(app, sendBody())).status).toBe(200);
    expect((await app.request("/bounces/foo@example.com")).status).toBe(404);
    expect((await app.request("/bounces/foo@example.com", { method: "DELETE" })).status).toBe(404);
  });
});

describe("request logging (spec/email.md §10)", () => {
  test("Request started / Request finished with the original's fields", async () => {
    const { app, captured } = testApp(db.sql);
    await postSend(app, sendBody(), { ...JSON_HEADERS, "user-agent": "fxa-auth-server", "x-forwarded-for": "203.0.113.7, 10.0.0.1" });
    const [started, finished] = captured.lines.filter((l) => l.msg.startsWith("Request "));
    const request = { agent: "fxa-auth-server", remoteAddressChain: "203.0.113.7, 10.0.0.1", path: "/send", method: "POST" };
    expect(started).toMatchObject({ severity: 6, msg: "Request started", fields: request });
    expect(finished).toMatchObject({ severity: 6, msg: "Request finished", fields: { ...request, status_code: 200, status_msg: "OK" } });
  });

  test("a 4xx is logged at warning as \"Request errored\" with code, error, errno, message", async () => {
    const { app, captured } = testApp(db.sql);
    await postSend(app, "{}");
    const logged = captured.lines.find((l) => l.msg === "Request errored")!;
    expect(logged.severity).toBe(4);
    expect(logged.fields).toMatchObject({ code: 400, error: "Bad Request", errno: 102, message: "Invalid payload: missing field `to` at line 1 column 2", additional_fields: "{}" });
  });

  test("below info nothing is logged for a successful request", async () => {
    const { app, captured } = testApp(db.sql);
    captured.log.level = 1;
    await postSend(app, sendBody());
    expect(captured.lines).toEqual([]);
  });
});

describe("limits from configuration", () => {
  test("a custom soft-bounce limit (2 tolerated in an hour) is applied", async () => {
    const now = Date.now();
    const limits = limitsFrom({ soft: [{ period: "hour", limit: 2 }] });
    for (let i = 1; i <= 2; i++) await insertBounce(db.sql, { email: "foo@example.com", bounceType: 2, bounceSubType: 5, createdAt: now - i * 60_000 });
    const { app } = testApp(db.sql, { limits });
    expect((await postSend(app, sendBody())).status).toBe(200);
    await insertBounce(db.sql, { email: "foo@example.com", bounceType: 2, bounceSubType: 5, createdAt: now - 30_000 });
    const refused = await postSend(app, sendBody());
    expect(refused.status).toBe(429);
    expect((await json(refused)).time).toBe(now - 2 * 60_000); // the third-newest record went over the limit
  });
});
