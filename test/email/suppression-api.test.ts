// GET/DELETE /bounces/:email behind the bearer token: what the check sees, which limit refuses the
// address and until when, and clearing the records (logged both ways).
import { beforeEach, describe, expect, test } from "bun:test";
import { insertBounce } from "../../src/email/bounce-store.ts";
import { createEmailTestDb, DEFAULT_LIMITS, JSON_HEADERS, postSend, testApp } from "../support/email.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const TOKEN = "suppression-test-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 15, 12);

function app() {
  return testApp(db.sql, { authToken: TOKEN, now: () => NOW });
}
const json = async (response: Response) => (await response.json()) as Record<string, any>;

describe("GET /bounces/:email", () => {
  test("a clean address: no records, nothing refused", async () => {
    const response = await app().app.request("/bounces/clean@example.com", { headers: AUTH });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ address: "clean@example.com", checksEnabled: true, refused: null, records: [] });
  });

  test("records newest first, the refusing limit, and until when", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 3, createdAt: NOW - 100 * DAY });
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW - 2 * DAY });
    const { app: a, captured } = app();
    // The address is normalised like /send's: display name and case do not matter.
    const response = await a.request(`/bounces/${encodeURIComponent("Bar <BAR@example.com>")}`, { headers: AUTH });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.address).toBe("bar@example.com");
    expect(body.records).toEqual([
      { bounceType: 1, bounceSubType: 2, problem: "hard", subtype: "General", createdAt: NOW - 2 * DAY, createdAtIso: new Date(NOW - 2 * DAY).toISOString() },
      { bounceType: 1, bounceSubType: 3, problem: "hard", subtype: "NoEmail", createdAt: NOW - 100 * DAY, createdAtIso: new Date(NOW - 100 * DAY).toISOString() },
    ]);
    const until = NOW - 100 * DAY + 365 * DAY + 1;
    expect(body.refused).toEqual({
      errno: 108,
      message: "Hard-bounce limit violated",
      problem: "hard",
      limit: { period: "year", limit: 1 },
      record: { createdAt: NOW - 100 * DAY, createdAtIso: new Date(NOW - 100 * DAY).toISOString() },
      until,
      untilIso: new Date(until).toISOString(),
    });
    expect(captured.lines.find((l) => l.msg === "Bounce records read")?.fields).toMatchObject({ address: "bar@example.com", records: 2, refused: true });
  });

  test("with the checks disabled nothing is refused", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW - 1000 });
    const { app: a } = testApp(db.sql, { authToken: TOKEN, now: () => NOW, limits: { ...DEFAULT_LIMITS, enabled: false } });
    const body = await json(await a.request("/bounces/bar@example.com", { headers: AUTH }));
    expect(body.checksEnabled).toBe(false);
    expect(body.refused).toBeNull();
    expect(body.records.length).toBe(1);
  });

  test("an invalid address is a 400 in the error shape", async () => {
    const response = await app().app.request("/bounces/not-an-address", { headers: AUTH });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('{"code":400,"error":"Bad Request","errno":102,"message":"Invalid payload: invalid value: string \\"not-an-address\\", expected email address"}');
  });

  test("needs the token", async () => {
    const { app: a } = app();
    expect((await a.request("/bounces/bar@example.com")).status).toBe(401);
    expect((await a.request("/bounces/bar@example.com", { headers: { authorization: "Bearer nope-nope-nope-nope" } })).status).toBe(401);
    expect((await a.request("/bounces/bar@example.com", { method: "DELETE" })).status).toBe(401);
  });
});

describe("DELETE /bounces/:email", () => {
  test("clears the records, is logged, and the address can be mailed again", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 3, bounceSubType: 9, createdAt: NOW - 1000 });
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW - 2000 });
    await insertBounce(db.sql, { email: "other@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW - 2000 });
    const { app: a, captured, provider } = app();
    const send = () => postSend(a, JSON.stringify({ to: "bar@example.com", subject: "s", body: { text: "t" } }), { ...JSON_HEADERS, ...AUTH });
    expect((await send()).status).toBe(429);
    const response = await a.request("/bounces/BAR@example.com", { method: "DELETE", headers: AUTH });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ address: "bar@example.com", deleted: 2 });
    expect(captured.lines.find((l) => l.msg === "Bounce records cleared")).toMatchObject({ severity: 6, fields: { address: "bar@example.com", deleted: 2, actor: "operator token" } });
    expect((await send()).status).toBe(200);
    expect(provider.sent.length).toBe(1);
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from email_bounces where email = 'other@example.com'`;
    expect(n).toBe(1);
    expect(await json(await a.request("/bounces/bar@example.com", { method: "DELETE", headers: AUTH }))).toEqual({ address: "bar@example.com", deleted: 0 });
  });
});
