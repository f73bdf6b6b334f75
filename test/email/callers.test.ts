// Callers of /send (issue 11) in process against real PostgreSQL: tokens (only digests stored, checked
// per request), rotation and its grace, removal, the operator token as `default`, send-rate limits per
// caller and per recipient (fixed windows, all or nothing, Retry-After), what they count after the
// bounce checks, GET /callers/:name/usage, hostile input, and the caller in log lines and metrics.
import { beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { insertBounce } from "../../src/email/bounce-store.ts";
import { addCaller, parseRate, recipientUsage, removeCaller, rotateCaller, ROTATION_GRACE_MS, tokenIsValid } from "../../src/email/callers.ts";
import { fetchCallers } from "../../src/email/caller-store.ts";
import { createEmailTestDb, JSON_HEADERS, postSend, testApp } from "../support/email.ts";
import { recordingMetrics } from "../support/metrics.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const OPERATOR = "operator-token-0123456789";
/** 2026-11-29T10:00:30Z: 30 s into a minute, so a minute window ends 30 s later. */
const T0 = Date.UTC(2026, 10, 29, 10, 0, 30);
const json = async (response: Response) => (await response.json()) as Record<string, any>;
const body = (fields: Record<string, unknown> = {}) => JSON.stringify({ to: "foo@example.com", subject: "s", body: { text: "t" }, ...fields });
const bearer = (token: string) => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });

/** An app with a movable clock. */
function clockedApp(options: { authToken?: string } = {}) {
  const clock = { now: T0 };
  const metrics = recordingMetrics();
  const t = testApp(db.sql, { now: () => clock.now, metrics, ...options });
  return { ...t, clock, metrics };
}

const counters = async () =>
  Object.fromEntries(
    (await db.sql<{ caller: string; address: string; count: number }[]>`select split_part(key, E'\n', 1) as caller, substr(key, strpos(key, E'\n') + 1) as address, count from email_send_counters where count > 0 order by key`).map((r) => [
      `${r.caller}:${r.address}`,
      r.count,
    ]),
  );

describe("tokens", () => {
  test("the table holds only SHA-256 digests: a stolen table gives no token", async () => {
    const token = await addCaller(db.sql, { name: "web" }, T0);
    expect(token).toMatch(/^web\.[A-Za-z0-9_-]{43}$/);
    const secret = token.slice(4);
    const [row] = await db.sql<{ dump: string; token_hash: Buffer }[]>`select c::text as dump, token_hash from email_callers c where name = 'web'`;
    expect(row!.token_hash.equals(createHash("sha256").update(token).digest())).toBe(true);
    expect(row!.dump).not.toContain(secret);
    expect(row!.dump).not.toContain(Buffer.from(secret, "base64url").toString("hex"));
    const [caller] = await fetchCallers(db.sql);
    expect(tokenIsValid(caller!, token, T0)).toBe(true);
    // Presenting the digest itself, or a token differing in one character, does not work.
    expect(tokenIsValid(caller!, row!.token_hash.toString("hex"), T0)).toBe(false);
    expect(tokenIsValid(caller!, token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"), T0)).toBe(false);
    // Two callers never share a token.
    expect(await addCaller(db.sql, { name: "api" }, T0)).not.toBe(token);
  });

  test("with a caller defined /send needs a caller's token (or the operator token); 401s send nothing", async () => {
    const { app, provider, captured } = clockedApp({ authToken: OPERATOR });
    const token = await addCaller(db.sql, { name: "web" }, T0);
    const other = await addCaller(db.sql, { name: "api" }, T0);
    const refusals = [undefined, "Bearer nope", `Bearer web.${other.slice(4)}`, `Bearer api.${token.slice(4)}`, `Bearer ${token}x`, `Bearer ghost.${token.slice(4)}`, `Basic ${token}`];
    for (const authorization of refusals) {
      const response = await postSend(app, body(), { ...JSON_HEADERS, ...(authorization ? { authorization } : {}) });
      expect(response.status).toBe(401);
      expect(await json(response)).toEqual({ code: 401, error: "Unauthorized", errno: 999, message: "Missing or invalid bearer token" });
    }
    expect(provider.sent).toEqual([]);
    captured.clear();
    expect((await postSend(app, body(), bearer(token))).status).toBe(200);
    expect((await postSend(app, body(), bearer(other))).status).toBe(200);
    expect((await postSend(app, body(), bearer(OPERATOR))).status).toBe(200);
    // Every line of a request names its caller.
    const requestLines = captured.lines.filter((l) => l.msg === "Request started" || l.msg === "Request finished");
    expect(requestLines.map((l) => l.fields.caller)).toEqual(["web", "web", "api", "api", "default", "default"]);
  });

  test("hostile bearer tokens (huge, injection in the name part, odd bytes) are a clean 401, and nothing is written", async () => {
    const { app, provider } = clockedApp({ authToken: OPERATOR });
    const token = await addCaller(db.sql, { name: "web" }, T0);
    const before = await db.sql`select * from email_callers order by name`;
    const tokens = [
      "x".repeat(100_000),
      `web'; delete from email_callers; --.${token.slice(4)}`,
      `web.${"A".repeat(50_000)}`,
      `${"a".repeat(40)}.${token.slice(4)}`,
      `.${token.slice(4)}`,
      "web.",
      "%00web.abc",
      `WEB.${token.slice(4)}`,
    ];
    for (const t of tokens) {
      const response = await postSend(app, body(), bearer(t));
      expect(response.status).toBe(401);
      expect((await json(response)).message).toBe("Missing or invalid bearer token");
    }
    expect(provider.sent).toEqual([]);
    expect(await db.sql`select * from email_callers order by name`).toEqual(before);
    expect(await counters()).toEqual({});
  });

  test("no caller and no operator token: /send stays open (today's behaviour), and nothing is counted", async () => {
    const { app, provider } = clockedApp();
    expect((await postSend(app, body())).status).toBe(200);
    expect((await postSend(app, body(), bearer("anything.at-all"))).status).toBe(200);
    expect(provider.sent.length).toBe(2);
    expect(await counters()).toEqual({});
  });

  test("rotation: the new token works at once, the old one until the grace period ends; rotating again drops it", async () => {
    const { app, clock } = clockedApp();
    const first = await addCaller(db.sql, { name: "web" }, T0);
    const second = (await rotateCaller(db.sql, "web", T0))!;
    expect(second).not.toBe(first);
    expect((await postSend(app, body(), bearer(second))).status).toBe(200);
    expect((await postSend(app, body(), bearer(first))).status).toBe(200);
    clock.now = T0 + ROTATION_GRACE_MS - 1;
    expect((await postSend(app, body(), bearer(first))).status).toBe(200);
    clock.now = T0 + ROTATION_GRACE_MS;
    expect((await postSend(app, body(), bearer(first))).status).toBe(401);
    expect((await postSend(app, body(), bearer(second))).status).toBe(200);
    // A second rotation within the grace: the first token is gone at once, the second is in grace.
    clock.now = T0;
    const third = (await rotateCaller(db.sql, "web", T0))!;
    expect((await postSend(app, body(), bearer(first))).status).toBe(401);
    expect((await postSend(app, body(), bearer(second))).status).toBe(200);
    expect((await postSend(app, body(), bearer(third))).status).toBe(200);
    expect(await rotateCaller(db.sql, "ghost", T0)).toBeUndefined();
  });

  test("removal takes effect with the next request; its counters go with it", async () => {
    const { app } = clockedApp();
    const token = await addCaller(db.sql, { name: "web", rate: parseRate("5/minute") }, T0);
    const keep = await addCaller(db.sql, { name: "api" }, T0);
    expect((await postSend(app, body(), bearer(token))).status).toBe(200);
    expect(await counters()).toEqual({ "web:": 1 });
    expect(await removeCaller(db.sql, "web")).toBe(true);
    expect((await postSend(app, body(), bearer(token))).status).toBe(401);
    expect((await postSend(app, body(), bearer(keep))).status).toBe(200);
    expect(await counters()).toEqual({});
    expect(await removeCaller(db.sql, "web")).toBe(false);
  });
});

describe("send-rate limits", () => {
  test("a caller's rate: N per window, then 429 errno 112 with the limit, Retry-After to the window's end", async () => {
    const { app, clock, provider, metrics, captured } = clockedApp();
    const token = await addCaller(db.sql, { name: "web", rate: parseRate("3/minute") }, T0);
    for (let i = 0; i < 3; i++) expect((await postSend(app, body({ to: `u${i}@example.com` }), bearer(token))).status).toBe(200);
    clock.now = T0 + 10_500; // 19.5 s left in the minute
    const refused = await postSend(app, body({ to: "u9@example.com" }), bearer(token));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("20");
    expect(await refused.text()).toBe(
      '{"code":429,"error":"Too Many Requests","errno":112,"message":"Send-rate limit violated: caller web may send 3 messages per minute","limit":3,"period":"minute","retryAfter":20}',
    );
    expect(provider.sent.length).toBe(3);
    expect(metrics.count("send.rate_limited", { caller: "web" })).toBe(1);
    expect(captured.lines.find((l) => l.msg === "Request errored")!.fields).toMatchObject({ caller: "web", code: 429, errno: 112 });
    expect(metrics.count("send.sent", { provider: "mock", caller: "web" })).toBe(3);
    // The next window starts from zero.
    clock.now = T0 + 30_000;
    expect((await postSend(app, body({ to: "u9@example.com" }), bearer(token))).status).toBe(200);
    expect(await counters()).toEqual({ "web:": 1 });
  });

  test("the per-recipient rate counts `to` and every cc actually sent; a bounced cc is not counted", async () => {
    const { app, provider } = clockedApp();
    const token = await addCaller(db.sql, { name: "web", recipientRate: parseRate("2/hour") }, T0);
    await insertBounce(db.sql, { email: "gone@example.com", bounceType: 1, bounceSubType: 3, createdAt: T0 - 60_000 });
    const response = await postSend(app, body({ to: "a@example.com", cc: ["b@example.com", "gone@example.com", "B@example.com"] }), bearer(token));
    expect(response.status).toBe(200);
    expect(provider.sent[0]).toMatchObject({ to: "a@example.com", cc: ["b@example.com", "b@example.com"] });
    expect(await counters()).toEqual({ "web:a@example.com": 1, "web:b@example.com": 1 });
    // A bouncing `to` replaced by its last cc: the promoted address is what is counted.
    await postSend(app, body({ to: "gone@example.com", cc: ["c@example.com"] }), bearer(token));
    expect(provider.sent[1]).toMatchObject({ to: "c@example.com", cc: [] });
    expect(await counters()).toEqual({ "web:a@example.com": 1, "web:b@example.com": 1, "web:c@example.com": 1 });
  });

  test("counted while the bounce checks run: a request they refuse, or a bad provider, leaves every count as it was", async () => {
    const { app, provider } = clockedApp();
    const token = await addCaller(db.sql, { name: "web", rate: parseRate("10/day"), recipientRate: parseRate("5/day") }, T0);
    await insertBounce(db.sql, { email: "gone@example.com", bounceType: 1, bounceSubType: 3, createdAt: T0 - 60_000 });
    const bounced = await postSend(app, body({ to: "gone@example.com" }), bearer(token));
    expect([bounced.status, (await json(bounced)).errno]).toEqual([429, 108]);
    const badProvider = await postSend(app, body({ to: "a@example.com", provider: "wibble" }), bearer(token));
    expect([badProvider.status, (await json(badProvider)).errno]).toEqual([400, 102]);
    expect(provider.sent).toEqual([]);
    expect(await counters()).toEqual({});
  });

  test("a recipient whose counter is full but whom the bounce checks drop does not refuse the send", async () => {
    const { app, provider } = clockedApp();
    const token = await addCaller(db.sql, { name: "web", recipientRate: parseRate("1/day") }, T0);
    expect((await postSend(app, body({ to: "gone@example.com" }), bearer(token))).status).toBe(200);
    // Now gone@ bounces and its counter is full: it is dropped from the cc, and the send goes out.
    await insertBounce(db.sql, { email: "gone@example.com", bounceType: 1, bounceSubType: 3, createdAt: T0 - 60_000 });
    const response = await postSend(app, body({ to: "a@example.com", cc: ["gone@example.com"] }), bearer(token));
    expect(response.status).toBe(200);
    expect(provider.sent[1]).toMatchObject({ to: "a@example.com", cc: [] });
    expect(await counters()).toEqual({ "web:a@example.com": 1, "web:gone@example.com": 1 });
  });

  test("all or nothing: a request refused for one recipient takes nothing from any counter", async () => {
    const { app, provider } = clockedApp();
    const token = await addCaller(db.sql, { name: "web", rate: parseRate("100/day"), recipientRate: parseRate("1/hour") }, T0);
    expect((await postSend(app, body({ to: "a@example.com" }), bearer(token))).status).toBe(200);
    const refused = await postSend(app, body({ to: "b@example.com", cc: ["a@example.com"] }), bearer(token));
    expect(refused.status).toBe(429);
    const problem = await json(refused);
    expect(problem).toMatchObject({ errno: 112, address: "a@example.com", limit: 1, period: "hour", message: "Send-rate limit violated: caller web may send 1 message per hour to a@example.com" });
    // 10:00:30 → the hour ends at 11:00:00.
    expect(refused.headers.get("retry-after")).toBe(String(3600 - 30));
    expect(provider.sent.length).toBe(1);
    expect(await counters()).toEqual({ "web:": 1, "web:a@example.com": 1 });
  });

  test("callers do not share counters; the operator token counts as `default` only when a `default` row gives it limits", async () => {
    const { app } = clockedApp({ authToken: OPERATOR });
    const web = await addCaller(db.sql, { name: "web", rate: parseRate("1/minute") }, T0);
    const api = await addCaller(db.sql, { name: "api", rate: parseRate("1/minute") }, T0);
    expect((await postSend(app, body(), bearer(web))).status).toBe(200);
    expect((await postSend(app, body(), bearer(api))).status).toBe(200);
    expect((await postSend(app, body(), bearer(web))).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await postSend(app, body(), bearer(OPERATOR))).status).toBe(200);
    await addCaller(db.sql, { name: "default", rate: parseRate("1/minute") }, T0);
    expect((await postSend(app, body(), bearer(OPERATOR))).status).toBe(200);
    expect((await postSend(app, body(), bearer(OPERATOR))).status).toBe(429);
  });

  test("concurrent requests in one process: exactly the limit is admitted", async () => {
    const { app } = clockedApp();
    const token = await addCaller(db.sql, { name: "web", rate: parseRate("25/hour") }, T0);
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => postSend(app, body({ to: `u${i}@example.com` }), bearer(token)).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200).length).toBe(25);
    expect(statuses.filter((s) => s === 429).length).toBe(35);
    expect(await counters()).toEqual({ "web:": 25 });
  });
});

describe("GET /callers/:name/usage", () => {
  test("needs the operator token; shows the open windows' counts next to the limits", async () => {
    const { app } = clockedApp({ authToken: OPERATOR });
    const token = await addCaller(db.sql, { name: "web", rate: parseRate("10/minute"), recipientRate: parseRate("5/hour") }, T0);
    await postSend(app, body({ to: "a@example.com", cc: ["b@example.com"] }), bearer(token));
    await postSend(app, body({ to: "a@example.com" }), bearer(token));
    expect((await app.request("/callers/web/usage")).status).toBe(401);
    expect((await app.request("/callers/web/usage", { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const response = await app.request("/callers/web/usage", { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      name: "web",
      rate: { limit: 10, period: "minute", count: 2, windowStart: "2026-11-29T10:00:00.000Z", windowEnd: "2026-11-29T10:01:00.000Z" },
      recipientRate: {
        limit: 5,
        period: "hour",
        recipients: 2,
        busiest: [
          { address: "a@example.com", count: 2, windowEnd: "2026-11-29T11:00:00.000Z" },
          { address: "b@example.com", count: 1, windowEnd: "2026-11-29T11:00:00.000Z" },
        ],
      },
    });
    const ghost = await app.request("/callers/ghost/usage", { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(ghost.status).toBe(404);
  });

  test("without an operator token the route does not exist", async () => {
    const { app } = clockedApp();
    await addCaller(db.sql, { name: "web" }, T0);
    expect((await app.request("/callers/web/usage")).status).toBe(404);
  });

  test("hostile names are a clean 400 errno 102, and nothing is written", async () => {
    const { app } = clockedApp({ authToken: OPERATOR });
    await addCaller(db.sql, { name: "web" }, T0);
    const before = await db.sql`select * from email_callers`;
    const names = ["Web", "web'--", "web%27%3B%20drop%20table%20email_callers%3B--", "a".repeat(33), "x".repeat(10_000), "%00", "w%C3%A9b", "1web", "web.dot", "-web"];
    for (const name of names) {
      const response = await app.request(`/callers/${name}/usage`, { headers: { authorization: `Bearer ${OPERATOR}` } });
      expect(response.status).toBe(400);
      const problem = await json(response);
      expect(problem.errno).toBe(102);
      expect(problem.message).toStartWith("Invalid payload: invalid caller name");
      expect(problem.message.length).toBeLessThan(300);
    }
    expect(await db.sql`select * from email_callers`).toEqual(before);
    expect(await counters()).toEqual({});
  });
});

describe("recipientUsage (the console's address page)", () => {
  test("each caller's per-recipient count for one address, refused until the window ends once full", async () => {
    const { app, clock } = clockedApp({ authToken: OPERATOR });
    const tight = await addCaller(db.sql, { name: "tight", recipientRate: parseRate("2/minute") }, T0);
    const loose = await addCaller(db.sql, { name: "loose", recipientRate: parseRate("10/hour") }, T0);
    await addCaller(db.sql, { name: "open", rate: parseRate("5/minute") }, T0);
    for (const token of [tight, tight, loose]) expect((await postSend(app, body({ to: "Pat@Example.com" }), bearer(token))).status).toBe(200);
    expect((await postSend(app, body({ to: "pat@example.com" }), bearer(tight))).status).toBe(429);
    const minuteEnd = new Date(T0 + 30_000).toISOString();
    expect(await recipientUsage(db.sql, "pat@example.com", clock.now)).toEqual([
      { caller: "loose", limit: 10, period: "hour", count: 1, windowEnd: new Date(Date.UTC(2026, 10, 29, 11)).toISOString(), refusedUntil: null },
      { caller: "tight", limit: 2, period: "minute", count: 2, windowEnd: minuteEnd, refusedUntil: minuteEnd },
    ]);
    // Once the window has ended nothing refuses, though the counter row is still there.
    expect((await recipientUsage(db.sql, "pat@example.com", T0 + 30_000)).map((u) => [u.caller, u.count, u.refusedUntil])).toEqual([
      ["loose", 1, null],
      ["tight", 0, null],
    ]);
    expect((await recipientUsage(db.sql, "nobody@example.com", clock.now)).every((u) => u.count === 0)).toBe(true);
  });
});
