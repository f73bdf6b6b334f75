// The shared console core on its own (a tool with one page and one action), for what the broker's pages
// do not reach: the components' output, keyset paging, the one-time notice, the session's codec, the
// operator name rules, and unknown console paths.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { jsx } from "hono/jsx";
import { Badge } from "../../src/console/badge.tsx";
import { page } from "../../src/console/layout.tsx";
import { hrefWith, Pager, pageOf } from "../../src/console/pager.tsx";
import { consolePath, consoleRoutes, redirectWithNotice } from "../../src/console/routes.tsx";
import { decodeSession, encodeSession, newSession, sessionKeys } from "../../src/console/session.ts";
import { signInThrottle } from "../../src/console/sign-in-throttle.ts";
import { Sparkline } from "../../src/console/sparkline.tsx";
import { Time } from "../../src/console/time.tsx";
import { captureLog } from "../support/log.ts";
import { csrfIn, form, FORM } from "../support/console-client.ts";

const render = async (node: unknown) => String(await (node as { toString(): string | Promise<string> }).toString());
const TOKEN = "core-token-0123456789abcdef";

function demoApp(now: () => number) {
  const captured = captureLog("debug");
  const app = new Hono().route(
    "/console",
    consoleRoutes({
      tool: "demo",
      token: TOKEN,
      now,
      log: captured.log,
      nav: [{ href: "/console/things", label: "Things" }],
      pages: (a) => {
        a.get("/things", (c) => page(c, "Things", jsx("p", { class: "operator" }, c.get("operator"))));
        a.post("/things", (c) => {
          c.get("audit")("touch", { thing: c.get("form").get("thing") });
          return redirectWithNotice(c, "/console/things", `touched ${c.get("form").get("thing")}`);
        });
      },
    }),
  );
  return { app, captured };
}

async function signIn(app: Hono, operator = "Ann") {
  const res = await app.request("http://x/console/login", { method: "POST", headers: FORM, body: form({ operator, token: TOKEN }) });
  return { res, cookie: res.headers.get("set-cookie")?.split(";")[0] ?? "" };
}

describe("components", () => {
  test("<Time> renders UTC text with the ISO moment for the script, and a dash for none", async () => {
    expect(await render(Time({ at: Date.UTC(2026, 2, 14, 9, 30, 5, 123) }))).toBe('<time datetime="2026-03-14T09:30:05.123Z" title="2026-03-14 09:30:05 UTC">2026-03-14 09:30:05 UTC</time>');
    expect(await render(Time({ at: null }))).toBe('<span class="muted">—</span>');
  });

  test("<Sparkline> escapes its labels, marks failures, and scales bars by log latency", async () => {
    const svg = await render(Sparkline({ label: `<b>"x"</b>`, points: [{ value: 10 }, { value: 10_000, bad: true, label: "<script>" }] }));
    expect(svg).toContain('aria-label="&lt;b&gt;&quot;x&quot;&lt;/b&gt;"');
    expect(svg).toContain("<title>&lt;script&gt;</title>");
    expect(svg.match(/class="spark-bad"/g)).toHaveLength(1);
    const heights = [...svg.matchAll(/height="(\d+)"><\/rect>|height="(\d+)"><title>/g)].map((m) => Number(m[1] ?? m[2]));
    expect(heights[0]!).toBeLessThan(heights[1]!);
    expect(await render(Sparkline({ label: "none", points: [] }))).toContain("no attempts");
  });

  test("<Badge> picks a tone from the word unless told", async () => {
    expect(await render(Badge({ status: "dead" }))).toBe('<span class="badge badge-bad">dead</span>');
    expect(await render(Badge({ status: "delivered" }))).toContain("badge-ok");
    expect(await render(Badge({ status: "something", tone: "warn" }))).toContain("badge-warn");
  });

  test("keyset paging: pageOf keeps `limit` rows and names the next key; <Pager> keeps the filters", async () => {
    expect(pageOf([5, 4, 3], 3, String)).toEqual({ rows: [5, 4, 3] });
    expect(pageOf([5, 4, 3, 2], 3, String)).toEqual({ rows: [5, 4, 3], next: "3" });
    expect(hrefWith("/console/x", { a: "1 2", b: "", c: undefined, d: "&" })).toBe("/console/x?a=1+2&d=%26");
    const pager = await render(Pager({ path: "/console/x", params: { uid: "u<1>" }, after: "90", next: "40" }));
    expect(pager).toContain('href="/console/x?uid=u%3C1%3E"');
    expect(pager).toContain('href="/console/x?uid=u%3C1%3E&amp;after=40"');
    expect(Pager({ path: "/console/x", params: {} })).toBeNull();
  });

  test("consolePath accepts console paths only", () => {
    expect(consolePath("/console/things?a=1")).toBe("/console/things?a=1");
    expect(consolePath("/console")).toBe("/console");
    for (const bad of ["https://evil.example/console", "//evil.example", "/consoleX", "/console/..//x", "/console\\x", "", undefined]) expect(consolePath(bad)).toBeUndefined();
  });
});

describe("sessions", () => {
  test("the codec: round trip, expiry at its end, another token's key refused", () => {
    const keys = sessionKeys(TOKEN, "demo");
    const session = newSession("Ann", 1_000, 60_000);
    const cookie = encodeSession(keys, session);
    expect(decodeSession(keys, cookie, 1_000)).toEqual(session);
    expect(decodeSession(keys, cookie, 60_999)).toEqual(session);
    expect(decodeSession(keys, cookie, 61_000)).toBeUndefined();
    expect(decodeSession(sessionKeys(`${TOKEN}2`, "demo"), cookie, 1_000)).toBeUndefined();
    expect(decodeSession(sessionKeys(TOKEN, "other-tool"), cookie, 1_000)).toBeUndefined();
  });

  test("operator names: letters, digits and a few marks, up to 64; trimmed", async () => {
    const { app } = demoApp(() => 0);
    expect((await signIn(app, "  José María O'Neil-Smith  ")).res.status).toBe(303);
    for (const bad of ["", "a".repeat(65), "Ann\nInjected: yes", "<b>", "Ann\u0000"]) expect((await signIn(app, bad)).res.status).toBe(401);
  });
});

describe("wrong tokens, counted per client address", () => {
  const attempt = (app: Hono, address: string, token: string, operator = "Ann") =>
    app.request("http://x/console/login", { method: "POST", headers: FORM, body: form({ operator, token }) }, { peer: () => address });

  test("ten wrong tokens from an address: its next sign-in is a 429 with Retry-After, right token or not, until the window ends; other addresses sign in", async () => {
    let now = 1_000_000;
    const { app, captured } = demoApp(() => now);
    for (let i = 0; i < 10; i++) expect((await attempt(app, "192.0.2.1", `guess-${i}`)).status).toBe(401);
    now += 60_000;
    const refused = await attempt(app, "192.0.2.1", TOKEN);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe(String(14 * 60));
    expect(refused.headers.get("set-cookie")).toBeNull();
    expect(await refused.text()).toContain("Too many wrong tokens from your address: try again in 14 minutes.");
    expect(captured.lines.find((l) => l.msg === "Console sign-in throttled")?.fields).toMatchObject({ tool: "demo", client: "192.0.2.1" });
    expect((await attempt(app, "192.0.2.2", TOKEN)).status).toBe(303);
    now += 14 * 60_000; // the window, counted from the first wrong token, has ended
    expect((await attempt(app, "192.0.2.1", TOKEN)).status).toBe(303);
  });

  test("nine wrong tokens do not lock anyone out, and a right token with a bad name is not a wrong token", async () => {
    const { app } = demoApp(() => 0);
    for (let i = 0; i < 9; i++) expect((await attempt(app, "192.0.2.9", "nope")).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await attempt(app, "192.0.2.9", TOKEN, "<bad name>")).status).toBe(401);
    expect((await attempt(app, "192.0.2.9", TOKEN)).status).toBe(303);
  });

  test("the table of addresses stays bounded: ended windows go first, then the oldest", () => {
    const throttle = signInThrottle({ maxFailures: 2, windowMs: 1_000, maxKeys: 3 });
    for (const a of ["a", "b", "c"]) throttle.failed(a, 0);
    throttle.failed("a", 0);
    expect(throttle.retryAfterMs("a", 10)).toBe(990);
    throttle.failed("d", 10); // full: nothing has ended, so the oldest ("a") makes room
    expect(throttle.size).toBe(3);
    expect(throttle.retryAfterMs("a", 10)).toBe(0);
    throttle.failed("d", 20);
    expect(throttle.retryAfterMs("d", 20)).toBe(1_000 - 10);
    for (const a of ["e", "f", "g"]) throttle.failed(a, 2_000); // b, c, d have ended
    expect(throttle.size).toBe(3);
  });
});

describe("an action's outcome and unknown paths", () => {
  test("an action redirects with a notice shown once, escaped, and logs who did it", async () => {
    let now = 0;
    const { app, captured } = demoApp(() => now);
    const { cookie } = await signIn(app);
    const html = await (await app.request("http://x/console/things", { headers: { cookie } })).text();
    const csrf = csrfIn(html)!;
    const posted = await app.request("http://x/console/things", { method: "POST", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ csrf, thing: "<i>x</i>" }).toString() });
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toBe("/console/things");
    const notice = posted.headers.get("set-cookie")!.split(";")[0]!;
    const shown = await app.request("http://x/console/things", { headers: { cookie: `${cookie}; ${notice}` } });
    expect(await shown.text()).toContain('<p class="notice" role="status">touched &lt;i&gt;x&lt;/i&gt;</p>');
    expect(shown.headers.get("set-cookie")).toContain("Max-Age=0");
    expect(captured.lines.find((l) => l.msg === "Console: touch")?.fields).toMatchObject({ tool: "demo", operator: "Ann", thing: "<i>x</i>" });
    now = 13 * 3600_000; // past the 12 h session
    expect((await app.request("http://x/console/things", { headers: { cookie } })).status).toBe(303);
  });

  test("/console goes to the first nav entry; an unknown console path is 404 (HTML for a browser)", async () => {
    const { app } = demoApp(() => 0);
    const { cookie } = await signIn(app);
    expect((await app.request("http://x/console", { headers: { cookie } })).headers.get("location")).toBe("/console/things");
    const missing = await app.request("http://x/console/nope", { headers: { cookie, accept: "text/html" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("text/html");
    expect(await missing.text()).toContain("No console page /console/nope");
  });
});
