// The console's security model over plain HTTP (the event-broker's console, in process): nothing without
// a session, CSRF and cross-site posts refused, every stored value escaped, the session cookie's flags and
// lifetime, secrets never rendered, wrong tokens refused.
import { beforeAll, describe, expect, test } from "bun:test";
import { insertDeliveries } from "../../src/broker/queries.ts";
import { CONSOLE_CSP } from "../../src/console/security-headers.ts";
import { sessionKeys } from "../../src/console/session.ts";
import { keys } from "../support/broker.ts";
import { CONSOLE_TOKEN, startBrokerConsole, type BrokerConsoleFixture } from "../support/broker-console.ts";
import { csrfIn, form, FORM } from "../support/console-client.ts";
import { createTestDatabase } from "../support/postgres.ts";

const db = await createTestDatabase();
let fx: BrokerConsoleFixture;
const CLIENT = "abcdef0123456789";
const HOSTILE = `<script>alert("x")</script>`;
const HOSTILE_UID = `"><img src=x onerror=alert(1)>`;


async function request(path: string, init: RequestInit & { cookie?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  return await fx.app.request(`http://127.0.0.1${path}`, { ...init, headers, redirect: "manual" });
}

async function signIn(operator = "Grace", headers: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string }> {
  const res = await request("/console/login", { method: "POST", headers: { ...FORM, ...headers }, body: form({ operator, token: CONSOLE_TOKEN }) });
  expect(res.status).toBe(303);
  const setCookie = res.headers.get("set-cookie")!;
  return { cookie: setCookie.split(";")[0]!, setCookie };
}

async function csrfOf(cookie: string): Promise<string> {
  const html = await (await request("/console/deliveries", { cookie })).text();
  return csrfIn(html)!;
}

const deliveryStatus = async (id: number) => (await db.sql<{ status: string }[]>`select status from broker_deliveries where id = ${id}`)[0]!.status;

beforeAll(async () => {
  fx = await startBrokerConsole(db, { workers: false });
  await fx.addClient(CLIENT, "http://127.0.0.1:9/events");
  const now = new Date();
  await insertDeliveries(
    db.sql,
    [
      { client_id: CLIENT, uid: HOSTILE_UID, event: HOSTILE, payload: { note: HOSTILE }, jti: crypto.randomUUID(), source_message_id: null },
      { client_id: CLIENT, uid: "u2", event: "passwordChange", payload: {}, jti: crypto.randomUUID(), source_message_id: null },
    ],
    now,
  );
  await db.sql`update broker_deliveries set status = 'dead', finished_at = ${now}`;
  await db.sql`insert into broker_attempts (delivery_id, client_id, attempted_at, http_status, latency_ms, error)
    values (1, ${CLIENT}, ${now}, 500, 7, ${`HTTP 500: ${HOSTILE}`}), (2, ${CLIENT}, ${now}, 502, 9, 'HTTP 502')`;
});

const PAGES = ["/console", "/console/overview", "/console/clients", "/console/deliveries", "/console/deliveries?uid=u2", "/console/deliveries/1", "/console/counters.json"];
const ACTIONS = ["/console/deliveries/1/retry", `/console/clients/${CLIENT}/replay-dead`, "/console/logout"];

describe("no page or action without a session", () => {
  test.each(PAGES)("GET %s → 303 to the sign-in page", async (path) => {
    const res = await request(path);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toStartWith("/console/login");
    expect(await res.text()).not.toContain("abcdef0123456789");
  });

  test.each(ACTIONS)("POST %s → 401 in our error shape, nothing done", async (path) => {
    const res = await request(path, { method: "POST", headers: FORM, body: form({ csrf: "x" }) });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 401, errno: 999 });
    expect(await deliveryStatus(1)).toBe("dead");
  });

  test("a forged or tampered cookie is no session", async () => {
    const { cookie } = await signIn();
    const [name, value] = cookie.split("=") as [string, string];
    const [payload, mac] = value.split(".") as [string, string];
    const other = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), o: "Mallory" })).toString("base64url");
    for (const forged of [`${name}=${other}.${mac}`, `${name}=${payload}.${mac.slice(0, -2)}AA`, `${name}=${payload}`, `${name}=garbage`]) {
      expect((await request("/console/overview", { cookie: forged })).status).toBe(303);
    }
  });

  test("a session ends after 12 hours (the injected clock), and when the admin token is rotated", async () => {
    const { cookie } = await signIn();
    expect((await request("/console/overview", { cookie })).status).toBe(200);
    const start = fx.sessionNow.value;
    fx.sessionNow.value = start + 12 * 3600_000 - 1000;
    expect((await request("/console/overview", { cookie })).status).toBe(200);
    fx.sessionNow.value = start + 12 * 3600_000 + 1000;
    expect((await request("/console/overview", { cookie })).status).toBe(303);
    fx.sessionNow.value = start;
    // The same cookie against a console whose token changed.
    const { brokerConsole } = await import("../../src/broker/console/broker-console.tsx");
    const rotated = brokerConsole({ admin: fx.admin, token: `${CONSOLE_TOKEN}-rotated`, now: () => start });
    expect((await rotated.request("http://127.0.0.1/overview", { headers: { cookie }, redirect: "manual" })).status).toBe(303);
  });
});

describe("sign-in", () => {
  test("a wrong token is refused (401, no cookie), and so is a missing name", async () => {
    for (const fields of [{ operator: "Eve", token: "wrong-token" }, { operator: "Eve", token: "" }, { operator: "Eve", token: `${CONSOLE_TOKEN}x` }, { operator: "", token: CONSOLE_TOKEN }, { operator: HOSTILE, token: CONSOLE_TOKEN }]) {
      const res = await request("/console/login", { method: "POST", headers: FORM, body: form(fields) });
      expect(res.status).toBe(401);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(await res.text()).not.toContain("<script>alert");
    }
    expect(fx.log.lines.some((l) => l.msg === "Console sign-in refused" && l.fields.reason === "token")).toBe(true);
  });

  test("the session cookie: HttpOnly, SameSite=Strict, Path=/console, 12 h; Secure when the request came over https", async () => {
    const { setCookie } = await signIn();
    const attributes = setCookie.split(";").map((a) => a.trim().toLowerCase());
    expect(attributes).toContain("httponly");
    expect(attributes).toContain("samesite=strict");
    expect(attributes).toContain("path=/console");
    expect(attributes).toContain("max-age=43200");
    expect(attributes).not.toContain("secure");
    const overHttps = await signIn("Grace", { "x-forwarded-proto": "https" });
    expect(overHttps.setCookie.split(";").map((a) => a.trim().toLowerCase())).toContain("secure");
  });

  test("after sign-in the operator goes back only to a console page, never elsewhere", async () => {
    for (const [next, expected] of [["/console/clients", "/console/clients"], ["https://evil.example/", "/console/overview"], ["//evil.example/console", "/console/overview"], ["/console//evil.example", "/console/overview"]] as const) {
      const res = await request("/console/login", { method: "POST", headers: FORM, body: form({ operator: "Grace", token: CONSOLE_TOKEN, next }) });
      expect(res.headers.get("location")).toBe(expected);
    }
  });
});

describe("CSRF and cross-site posts", () => {
  test("missing, wrong, or another session's token → 403, nothing done; the session's own token works", async () => {
    const mine = await signIn("Grace");
    const theirs = await signIn("Linus");
    const token = await csrfOf(mine.cookie);
    const otherToken = await csrfOf(theirs.cookie);
    expect(otherToken).not.toBe(token);
    for (const body of [form({}), form({ csrf: "" }), form({ csrf: "wrong" }), form({ csrf: otherToken }), form({ csrf: token.slice(0, -1) })]) {
      const res = await request("/console/deliveries/1/retry", { method: "POST", headers: FORM, body, cookie: mine.cookie });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 403, error: "Forbidden", message: "Missing or invalid CSRF token" });
    }
    expect(await deliveryStatus(1)).toBe("dead");
    const ok = await request("/console/deliveries/2/retry", { method: "POST", headers: FORM, body: form({ csrf: token }), cookie: mine.cookie });
    expect(ok.status).toBe(303);
    expect(await deliveryStatus(2)).toBe("pending");
    expect(fx.log.lines.find((l) => l.msg === "Console: retry delivery")?.fields).toMatchObject({ operator: "Grace", id: "2" });
  });

  test("a post from another site is refused even with the right token (Sec-Fetch-Site, Origin)", async () => {
    const { cookie } = await signIn();
    const csrf = await csrfOf(cookie);
    const crossSite: Record<string, string>[] = [{ "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }, { origin: "http://evil.example" }, { origin: "http://127.0.0.1.evil.example" }];
    for (const headers of crossSite) {
      const res = await request(`/console/clients/${CLIENT}/replay-dead`, { method: "POST", headers: { ...FORM, ...headers }, body: form({ csrf }), cookie });
      expect(res.status).toBe(403);
    }
    expect(await deliveryStatus(1)).toBe("dead");
    const same = await request("/console/deliveries/1/retry", { method: "POST", headers: { ...FORM, "sec-fetch-site": "same-origin", origin: "http://127.0.0.1" }, body: form({ csrf }), cookie });
    expect(same.status).toBe(303);
    await db.sql`update broker_deliveries set status = 'dead' where id = 1`;
  });

  test("a form that is not urlencoded, or too large, is refused", async () => {
    const { cookie } = await signIn();
    const csrf = await csrfOf(cookie);
    expect((await request("/console/deliveries/1/retry", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ csrf }), cookie })).status).toBe(400);
    expect((await request("/console/deliveries/1/retry", { method: "POST", headers: FORM, body: form({ csrf, pad: "x".repeat(20_000) }), cookie })).status).toBe(413);
  });
});

describe("every value from the database or a webhook is escaped", () => {
  test("a stored <script> in a webhook error body, an event name and a uid render as text", async () => {
    const { cookie } = await signIn();
    for (const path of ["/console/deliveries", `/console/deliveries?client=${CLIENT}`, "/console/deliveries/1", "/console/clients"]) {
      const html = await (await request(path, { cookie })).text();
      expect(html).not.toContain("<script>alert");
      expect(html).not.toContain("<img src=x");
      expect(html).not.toMatch(/onerror=alert\(1\)>/);
    }
    const html = await (await request("/console/deliveries/1", { cookie })).text();
    expect(html).toContain("HTTP 500: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  });

  test("an operator's name and an error message made of markup render as text", async () => {
    const { cookie } = await signIn("Grace O'Hara");
    const page = await (await request("/console/overview", { cookie })).text();
    expect(page).toContain("Grace O&#39;Hara");
    const csrf = await csrfOf(cookie);
    const res = await request(`/console/clients/${CLIENT}/replay-dead`, { method: "POST", headers: { ...FORM, accept: "text/html" }, body: form({ csrf, since: HOSTILE }), cookie });
    expect(res.status).toBe(400);
    const refused = await res.text();
    expect(refused).toContain("must be a date and time");
    expect(refused).not.toContain("<script>alert");
  });
});

describe("headers and secrets", () => {
  test("every console response carries the CSP, nosniff, no-referrer, no-store, DENY", async () => {
    const { cookie } = await signIn();
    const responses = [
      await request("/console/login"),
      await request("/console/assets/console.js"),
      await request("/console/overview"),
      await request("/console/nothing-here", { cookie }),
      await request("/console/deliveries/999999", { cookie }),
      ...(await Promise.all(PAGES.map((p) => request(p, { cookie })))),
      await request("/console/deliveries/1/retry", { method: "POST", headers: FORM, body: form({}), cookie }),
    ];
    for (const res of responses) {
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
    expect(CONSOLE_CSP).toContain("default-src 'none'");
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect((await request("/console/overview", { cookie })).headers.get("cache-control")).toBe("no-store");
    expect((await request("/console/nothing-here", { cookie })).status).toBe(404);
  });

  test("the admin token, the session keys and the SET signing key never appear in any page", async () => {
    const { cookie } = await signIn();
    const derived = sessionKeys(CONSOLE_TOKEN, "event-broker");
    const secrets = [CONSOLE_TOKEN, derived.mac.toString("base64url"), derived.mac.toString("hex"), derived.csrf.toString("base64url"), derived.csrf.toString("hex"), keys().privateJwk.d!, keys().privateJwk.p!];
    const bodies = await Promise.all([...PAGES, "/console/login", "/console/assets/console.js"].map(async (p) => await (await request(p, { cookie })).text()));
    for (const body of bodies) for (const secret of secrets) expect(body).not.toContain(secret);
  });
});
