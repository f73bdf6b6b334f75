// The event-broker console end to end in a real browser (Chromium through playwright-core): sign in, find
// a failed delivery, retry it once the relying party answers 200 and see it delivered, replay a client's
// dead deliveries; a screenshot of each page (build/screenshots/, and docs/console/ for the README with
// UPDATE_DOCS_SCREENSHOTS=1). Real delivery workers, real PostgreSQL, a loopback relying party.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { launchBrowser } from "../support/browser.ts";
import { CONSOLE_TOKEN, startBrokerConsole, type BrokerConsoleFixture } from "../support/broker-console.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startRelyingParty } from "../support/relying-party.ts";
import { waitFor } from "../support/wait.ts";

const db = await createTestDatabase();
const rp = await startRelyingParty();
const other = await startRelyingParty();
const browser = await launchBrowser();
const { page, unexpectedDialogs } = await browser.newPage();

const RP = "a1b2c3d4e5f60718";
const OTHER = "f00dfeedc0ffee01";
const UID = "7f5c9a1e2b3d4c5e8f90a1b2c3d4e5f6";
const HOSTILE = `<script>alert("from the webhook")</script><img src=x onerror=alert(2)>`;
let fx: BrokerConsoleFixture;

const statuses = () => db.sql<{ id: bigint; client_id: string; status: string }[]>`select id, client_id, status from broker_deliveries order by id`;
const countWhere = async (clientId: string, status: string) => (await statuses()).filter((r) => r.client_id === clientId && r.status === status).length;

beforeAll(async () => {
  fx = await startBrokerConsole(db, { workers: true });
  await fx.addClient(RP, rp.url);
  await fx.addClient(OTHER, other.url);
  // The RP is down and says so with markup; every delivery to it dies on its first attempt (max age 0).
  rp.statuses = [500];
  rp.answerBody = HOSTILE;
  await fx.enqueue(RP, UID, 1, "passwordChange");
  await fx.enqueue(RP, "0000aaaa1111bbbb2222cccc3333dddd", 3, "profileDataChange");
  await fx.enqueue(OTHER, UID, 2, "passwordChange");
  await waitFor(async () => (await countWhere(RP, "dead")) === 4 && (await countWhere(OTHER, "delivered")) === 2, "4 dead, 2 delivered");
});
afterAll(() => fx.stop());

async function expectNoUnexpectedDialog(p: Page) {
  // Let any script the page would run have its turn before looking.
  await p.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  expect(unexpectedDialogs).toEqual([]);
}

describe("event-broker console in Chromium", () => {
  test("a page asked for without a session leads to the sign-in form, and back to the page after it", async () => {
    await page.goto(`${fx.url}/console/deliveries?uid=${UID}`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await page.fill("input[name=operator]", "Ada Operator");
    await page.fill("input[name=token]", "not-the-token");
    // The refusal answers the POST on the same URL: wait for that answer, not for a URL change.
    const refused = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/console/login");
    await page.click("button[type=submit]");
    expect((await refused).status()).toBe(401);
    expect(await page.textContent("[role=alert]")).toContain("Wrong admin token");
    await page.fill("input[name=token]", CONSOLE_TOKEN);
    await browser.screenshot(page, "login", { docs: true });
    await Promise.all([page.waitForURL(/\/console\/deliveries\?/), page.click("button[type=submit]")]);
    const landed = new URL(page.url());
    expect(landed.pathname).toBe("/console/deliveries");
    expect(landed.searchParams.get("uid")).toBe(UID);
    expect(await page.textContent("header .who")).toBe("Ada Operator");
  });

  test("the overview shows the live counters", async () => {
    await page.goto(`${fx.url}/console/overview`);
    expect(await page.textContent("[data-count=dead]")).toBe("4");
    expect(await page.textContent("[data-count=delivered]")).toBe("2");
    // The script keeps them fresh from counters.json.
    const counters = await page.evaluate(async () => (await fetch("/console/counters.json")).json());
    expect(counters).toEqual({ pending: 0, delivered: 2, dead: 4, superseded: 0 });
    await browser.screenshot(page, "overview", { docs: true });
  });

  test("the clients page: webhook, format, recent attempts as a sparkline", async () => {
    await page.goto(`${fx.url}/console/clients`);
    const row = page.locator(`#client-${RP}`);
    expect(await row.locator(":scope > td").nth(1).textContent()).toBe(rp.url);
    expect(await row.locator("svg.sparkline rect.spark-bad").count()).toBe(4);
    expect(await page.locator(`#client-${OTHER} svg.sparkline rect.spark-ok`).count()).toBe(2);
    expect(await page.textContent("main")).toContain("endpoint health is kept per process");
    await browser.screenshot(page, "clients", { docs: true });
  });

  test("find the user's failed delivery, see the webhook's error as text, retry it once the relying party answers 200", async () => {
    await page.goto(`${fx.url}/console/deliveries`);
    await page.fill("input[name=uid]", UID);
    await page.selectOption("select[name=client]", RP);
    await Promise.all([page.waitForURL(/[?&]uid=/), page.click("form[role=search] button[type=submit]")]);
    const rows = page.locator("table.deliveries > tbody > tr[data-status]");
    expect(await rows.count()).toBe(1);
    const row = rows.first();
    expect(await row.getAttribute("data-status")).toBe("dead");
    // The relying party's markup is shown as the text it is, and never runs.
    expect(await row.locator(":scope > td").nth(7).textContent()).toContain(`HTTP 500: ${HOSTILE}`.slice(0, 160));
    const attempts = page.locator(`tr[data-attempts-of="${await row.locator("a").first().textContent()}"]`);
    await attempts.locator("details summary").click();
    expect(await attempts.locator("table.attempts tbody tr").count()).toBe(1);
    await expectNoUnexpectedDialog(page);
    await browser.screenshot(page, "deliveries", { docs: true });

    rp.statuses = [200];
    const callsBefore = rp.calls.length;
    await row.getByRole("button", { name: /Retry delivery/ }).click();
    expect(await page.textContent("[role=status]")).toMatch(/^Delivery \d+ is due again\.$/);
    await rp.waitForCalls(callsBefore + 1);
    const id = (await statuses()).find((r) => r.client_id === RP && r.status !== "dead")!.id;
    await waitFor(async () => (await statuses()).find((r) => r.id === id)!.status === "delivered", "the retried delivery delivered");

    await page.goto(`${fx.url}/console/deliveries/${id}`);
    expect(await page.textContent("main .badge")).toBe("delivered");
    const answers = await page.locator("table.attempts tbody tr td:nth-child(3)").allTextContents();
    expect(answers).toEqual(["500", "200"]);
    await expectNoUnexpectedDialog(page);
    await browser.screenshot(page, "delivery", { docs: true });
  });

  test("replay the client's dead deliveries: all due again, all delivered", async () => {
    expect(await countWhere(RP, "dead")).toBe(3);
    await page.goto(`${fx.url}/console/clients`);
    await page.locator(`#client-${RP} form.replay button`).click();
    expect(await page.textContent("[role=status]")).toBe(`3 dead deliveries of ${RP} due again.`);
    await waitFor(async () => (await countWhere(RP, "delivered")) === 4, "the replayed deliveries delivered");
    await page.goto(`${fx.url}/console/deliveries?client=${RP}&status=dead`);
    expect(await page.textContent("main")).toContain("No delivery matches.");
    // The audit line names who did it.
    const audit = fx.log.lines.find((l) => l.msg === "Console: replay dead deliveries");
    expect(audit?.fields).toMatchObject({ tool: "event-broker", operator: "Ada Operator", clientId: RP, count: 3 });
  });

  test("signing out ends the session", async () => {
    await page.goto(`${fx.url}/console/overview`);
    await page.click("header form button");
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await page.goto(`${fx.url}/console/overview`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
  });
});
