// The email-send console in a real browser (Chromium through playwright-core): sign in, look up an
// address that bounced, see which limit refuses it and until when, clear its records (the confirm is
// accepted), and see the next real POST /send pass. Also: times in the browser's zone with UTC on
// hover, the recent-problems and callers pages. Screenshots of each page go to build/screenshots/.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { insertBounce } from "../../src/email/bounce-store.ts";
import { addCaller, parseRate } from "../../src/email/callers.ts";
import { serve, type RunningServer } from "../../src/http/serve.ts";
import { launchBrowser, type BrowserSession } from "../support/browser.ts";
import { createEmailTestDb, testApp, type TestApp } from "../support/email.ts";

const db = await createEmailTestDb();
const TOKEN = "email-console-browser-token";
const DAY = 86_400_000;
const NOW = Date.now();

const browser: BrowserSession = await launchBrowser();
let server: RunningServer;
let t: TestApp;
let base: string;
beforeAll(async () => {
  t = testApp(db.sql, { authToken: TOKEN });
  server = serve(t.app, { port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${server.port}`;
  await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 3, createdAt: NOW - 40 * DAY });
  await insertBounce(db.sql, { email: "bar@example.com", bounceType: 1, bounceSubType: 2, createdAt: NOW - 2 * DAY });
  for (let i = 0; i < 30; i += 1) await insertBounce(db.sql, { email: `user${i}@example.net`, bounceType: 1 + (i % 3), bounceSubType: i % 15, createdAt: NOW - i * 3_600_000 });
  await addCaller(db.sql, { name: "web", rate: parseRate("600/minute"), recipientRate: parseRate("5/hour") }, NOW);
});
afterAll(() => server.stop(true));

const send = (to: string) =>
  fetch(`${base}/send`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ to, subject: "Hello", body: { text: "again" } }) });

test("sign in, find the refusing limit, clear the records, and the next /send passes", async () => {
  const { page, context, unexpectedDialogs } = await browser.newPage();
  await page.goto(`${base}/console`);
  expect(new URL(page.url()).pathname).toBe("/console/login");
  await browser.screenshot(page, "email-login");
  await page.getByLabel("Your name").fill("Alice Operator");
  await page.getByLabel("Admin token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/console/addresses`);
  const [cookie] = await context.cookies();
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/console" });

  await page.getByLabel("Email address").fill("Bar <BAR@example.com>");
  await page.getByRole("button", { name: "Look up" }).click();
  await page.waitForURL(/address=/);
  const refusal = page.locator(".refusal");
  await expect(refusal.textContent()).resolves.toContain("Hard-bounce limit violated");
  await expect(refusal.textContent()).resolves.toContain("the hard limit allows 1 per year");
  const until = new Date(NOW - 40 * DAY + 365 * DAY + 1);
  const untilTime = refusal.locator(`time[datetime="${until.toISOString()}"]`);
  expect(await untilTime.getAttribute("title")).toBe(until.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"));
  expect(await page.locator("table.records tbody tr").count()).toBe(2);
  await browser.screenshot(page, "email-address", { docs: true, fullPage: true });
  expect((await send("bar@example.com")).status).toBe(429);

  await page.getByRole("button", { name: /Clear records of bar@example.com/ }).click();
  await page.locator(".notice").waitFor();
  expect(await page.locator(".notice").textContent()).toBe("Cleared 2 records of bar@example.com.");
  expect(await page.locator("main").textContent()).toContain("can be mailed");
  await browser.screenshot(page, "email-address-cleared");
  const cleared = t.captured.lines.find((l) => l.msg === "Bounce records cleared");
  expect(cleared?.fields).toMatchObject({ address: "bar@example.com", deleted: 2, actor: "Alice Operator" });

  const response = await send("bar@example.com");
  expect(response.status).toBe(200);
  expect(t.provider.sent.map((m) => m.to)).toEqual(["bar@example.com"]);
  expect(unexpectedDialogs).toEqual([]);
  await context.close();
});

test("recent problems and callers; times in the operator's zone with UTC on hover", async () => {
  const context = await browser.browser.newContext({ viewport: { width: 1200, height: 720 }, timezoneId: "Asia/Tokyo", locale: "en-GB" });
  const page = await context.newPage();
  await page.goto(`${base}/console/login`);
  await page.getByLabel("Your name").fill("bob");
  await page.getByLabel("Admin token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.goto(`${base}/console/recent`);
  const first = page.locator("tbody time").first();
  const iso = (await first.getAttribute("datetime"))!;
  // Rewritten by the console's script to Tokyo time (UTC+9), the UTC text kept in the title.
  const tokyo = new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
  await page.waitForFunction(`document.querySelector("tbody time")?.textContent === ${JSON.stringify(`${tokyo} Asia/Tokyo`)}`);
  expect(await first.getAttribute("title")).toEndWith(" UTC");
  expect(await page.locator("table.records tbody tr").filter({ hasText: "@example.net" }).count()).toBe(30);
  await browser.screenshot(page, "email-recent", { docs: true });
  await page.getByRole("link", { name: "user3@example.net" }).click();
  await page.waitForURL(/address=user3%40example.net/);
  await page.getByRole("link", { name: "Callers" }).click();
  await page.waitForURL(`${base}/console/callers`);
  expect(await page.locator("main").textContent()).toContain("5 per hour to one address");
  await browser.screenshot(page, "email-callers", { docs: true });
  await context.close();
});
