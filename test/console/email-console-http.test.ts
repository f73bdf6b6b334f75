// The email-send console over plain HTTP: what each page shows (the refusing limit and until when, the
// per-recipient send-rate limits, records paged), the clear action logged with the operator, and the
// security properties: nothing without a session, CSRF and cross-site posts refused, values from the
// database escaped, tokens never rendered, no console at all without the operator token.
import { beforeEach, describe, expect, test } from "bun:test";
import { insertBounce } from "../../src/email/bounce-store.ts";
import { addCaller, parseRate } from "../../src/email/callers.ts";
import { appFetcher, signIn } from "../support/console-client.ts";
import { createEmailTestDb, JSON_HEADERS, postSend, testApp } from "../support/email.ts";

const db = await createEmailTestDb();
beforeEach(() => db.reset());

const TOKEN = "email-console-operator-token";
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 29, 6, 0, 30);
const HOSTILE = "<script>alert(1)</script>";

function setup() {
  const t = testApp(db.sql, { authToken: TOKEN, now: () => NOW });
  return { ...t, fetch: appFetcher(t.app) };
}

describe("pages", () => {
  test("an address refused by the hard-bounce limit: which limit, since which record, until when; cleared, /send passes", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 3, createdAt: NOW - 100 * DAY });
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW - 2 * DAY });
    const { app, fetch, captured, provider } = setup();
    const send = () => postSend(app, JSON.stringify({ to: "bar@example.com", subject: "s", body: { text: "t" } }), { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}` });
    expect((await send()).status).toBe(429);
    const client = await signIn(fetch, TOKEN, "Alice O'Neil");
    const response = await client.get(`/console/addresses?address=${encodeURIComponent("Bar <BAR@example.com>")}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("Hard-bounce limit violated");
    expect(html).toContain("allows 1 per year");
    const until = new Date(NOW - 100 * DAY + 365 * DAY + 1);
    expect(html).toContain(`<time datetime="${until.toISOString()}"`);
    expect(html).toContain("NoEmail");
    expect(html).toContain('name="address" value="bar@example.com"');

    const cleared = await client.post("/console/addresses/clear", { address: "bar@example.com" });
    expect(cleared.status).toBe(303);
    expect(cleared.headers.get("location")).toBe("/console/addresses?address=bar%40example.com");
    expect(captured.lines.find((l) => l.msg === "Bounce records cleared")?.fields).toMatchObject({ address: "bar@example.com", deleted: 2, actor: "Alice O'Neil" });
    const after = await (await client.get(cleared.headers.get("location")!, { cookie: `${client.cookie}; ${cleared.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")}` })).text();
    expect(after).toContain("Cleared 2 records of bar@example.com.");
    expect(after).toContain("can be mailed");
    expect((await send()).status).toBe(200);
    expect(provider.sent.map((m) => m.to)).toEqual(["bar@example.com"]);
  });

  test("per-recipient send-rate limits on the address page; callers page without tokens; recent problems paged", async () => {
    const { app, fetch } = setup();
    const callerToken = await addCaller(db.sql, { name: "tight", rate: parseRate("100/hour"), recipientRate: parseRate("1/minute") }, NOW);
    expect((await postSend(app, JSON.stringify({ to: "pat@example.com", subject: "s", body: { text: "t" } }), { ...JSON_HEADERS, authorization: `Bearer ${callerToken}` })).status).toBe(200);
    for (let i = 0; i < 60; i += 1) await insertBounce(db.sql, { email: `r${i}@example.com`, bounceType: 2, bounceSubType: 5, createdAt: NOW - i * 1000 });
    const client = await signIn(fetch, TOKEN);
    const address = await (await client.get("/console/addresses?address=pat@example.com")).text();
    expect(address).toMatch(/<code>tight<\/code>[\s\S]*1 per minute[\s\S]*refused/);
    const callers = await (await client.get("/console/callers")).text();
    expect(callers).toContain("1 of 100 per hour");
    expect(callers).toContain("pat@example.com");
    expect(callers).not.toContain(callerToken.split(".")[1]!);
    const first = await (await client.get("/console/recent")).text();
    // In the order recorded, newest first: r59 … r10, then r9 … r0.
    expect(first).toContain("r59@example.com");
    expect(first).toContain("r10@example.com");
    expect(first).not.toContain("r9@example.com");
    const next = /rel="next" href="([^"]+)"/.exec(first)![1]!.replaceAll("&amp;", "&");
    const second = await (await client.get(next)).text();
    expect(second).toContain("r9@example.com");
    expect(second).toContain("r0@example.com");
    expect(second).not.toContain("r10@example.com");
    expect(second).toContain("end of list");
  });
});

describe("security", () => {
  test("no page and no action without a session; the records survive", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW });
    const { fetch } = setup();
    for (const path of ["/console/addresses?address=bar@example.com", "/console/recent", "/console/callers", "/console"]) {
      const response = await fetch(path, { redirect: "manual", headers: { accept: "text/html" } });
      expect(response.status, path).toBe(303);
      expect(response.headers.get("location")!.startsWith("/console/login"), path).toBe(true);
    }
    const post = await fetch("/console/addresses/clear", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "address=bar%40example.com" });
    expect(post.status).toBe(401);
    // A forged cookie is no session either.
    const forged = await fetch("/console/recent", { redirect: "manual", headers: { cookie: "console_email_send=eyJvIjoiZXZlIn0.AAAA" } });
    expect(forged.status).toBe(303);
    const wrongToken = await fetch("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "operator=eve&token=nope-nope-nope-nope" });
    expect(wrongToken.status).toBe(401);
    expect(wrongToken.headers.getSetCookie()).toEqual([]);
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from email_bounces`;
    expect(n).toBe(1);
  });

  test("CSRF: a post without the token, with another session's, or from another origin is refused", async () => {
    await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW });
    const { fetch } = setup();
    const alice = await signIn(fetch, TOKEN, "alice");
    const bob = await signIn(fetch, TOKEN, "bob");
    expect((await alice.post("/console/addresses/clear", { address: "bar@example.com" }, { csrf: null })).status).toBe(403);
    expect((await alice.post("/console/addresses/clear", { address: "bar@example.com" }, { csrf: await bob.csrf() })).status).toBe(403);
    expect((await alice.post("/console/addresses/clear", { address: "bar@example.com" }, { headers: { origin: "https://evil.example" } })).status).toBe(403);
    expect((await alice.post("/console/addresses/clear", { address: "bar@example.com" }, { headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from email_bounces`;
    expect(n).toBe(1);
    expect((await alice.post("/console/addresses/clear", { address: "bar@example.com" })).status).toBe(303);
  });

  test("values from the database and from the request are rendered as text", async () => {
    // The table takes any text; only /send's checks keep such addresses out of real traffic.
    const stored = `${HOSTILE}"'&@example.com`;
    await insertBounce(db.sql, { email: stored, bounceType: 1, bounceSubType: 2, createdAt: NOW });
    const { fetch } = setup();
    const client = await signIn(fetch, TOKEN);
    const recent = await (await client.get("/console/recent")).text();
    expect(recent).not.toContain(HOSTILE);
    expect(recent).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    const lookup = await client.get(`/console/addresses?address=${encodeURIComponent(HOSTILE)}`);
    expect(lookup.status).toBe(400);
    const html = await lookup.text();
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain("&lt;script&gt;");
    expect(lookup.headers.get("content-security-policy")).toContain("script-src 'self'");
  });

  test("the operator token is never rendered, and without it there is no console", async () => {
    const { fetch } = setup();
    const client = await signIn(fetch, TOKEN);
    for (const path of ["/console/addresses", "/console/addresses?address=a@example.com", "/console/recent", "/console/callers"]) {
      const html = await (await client.get(path)).text();
      expect(html, path).not.toContain(TOKEN);
      expect(html, path).not.toContain(db.url);
    }
    const open = testApp(db.sql, { now: () => NOW });
    for (const path of ["/console/login", "/console/addresses"]) expect((await open.app.request(path)).status).toBe(404);
  });
});
