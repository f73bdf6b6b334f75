// The account-config console in a real browser (Chromium through playwright-core): sign in, look at
// the accounts with their freshness and one account's maps, look up an IP inside a CIDR entry and see
// which entry matched and why. An account name holding <script> must not run (no dialog opens).
// Screenshots of each page go to build/screenshots/.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConfigApp } from "../../src/account-config/api.ts";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { AccountConfigRunner } from "../../src/account-config/runner.ts";
import { serve, type RunningServer } from "../../src/http/serve.ts";
import { accountConfigDatabases } from "../support/account-config.ts";
import { launchBrowser } from "../support/browser.ts";
import { captureLog } from "../support/log.ts";

const databases = await accountConfigDatabases();
const browser = await launchBrowser();
const ADMIN = "account-config-browser-admin";
const SECRET = "postgres://acme:browser-s3cret@db.internal/acme";

let runner: AccountConfigRunner;
let server: RunningServer;
let base: string;
beforeAll(async () => {
  const db = await databases.create();
  await db.sql.unsafe(`
    INSERT INTO attrib.attrib_account (id, token, name, connection_strings, maintenance_until) VALUES
      (1, 'acme', 'Acme Corp', '{"write": "${SECRET}", "read": "${SECRET}"}', NULL),
      (2, 'globex', 'Globex <script>alert("name")</script>', '{}', now() + interval '2 hours'),
      (3, 'initech', 'Initech', '{}', NULL);
    INSERT INTO attrib.attrib_account_group (account_id, child_account_id) VALUES (1, 3);
    INSERT INTO attrib_client.attrib_event (account_id, name, display_name) VALUES (1, 'signup', 'Sign-up'), (1, 'purchase', 'Purchase');
    INSERT INTO attrib_client.attrib_domains (account_id, domain) VALUES (1, 'acme.example'), (1, 'shop.acme.example');
    INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode, note) VALUES
      (1, '10.0.0.0/8', 'no_sync', 'internal'), (1, '10.1.2.0/24', 'discard', 'load tester'),
      (1, '203.0.113.7', 'discard', 'scraper'), (1, '2001:db8::/32', 'no_sync', 'documentation range');
    INSERT INTO attrib_client.attrib_blacklist_visitors (account_id, visitor, mode, note) VALUES (1, 'AbCd1234AbCd1234AbCd1234AbCd1234', 'discard', 'bot');`);
  const { log } = captureLog("warn");
  const cache = new AccountConfigCache();
  runner = new AccountConfigRunner({ cache, sql: db.sql, log, pollIntervalMs: 60_000 });
  await runner.start();
  server = serve(createConfigApp({ runner, log, version: { build: "b", commit: "c", source: "s", version: "v" }, staleAfterMs: 30_000, adminToken: ADMIN }), { port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.stop(true);
  await runner.stop();
});

test("sign in, see the accounts with their freshness, open one account's maps, and test an IP inside a CIDR entry", async () => {
  const { page, context, unexpectedDialogs } = await browser.newPage();
  await page.goto(`${base}/console/accounts`);
  await page.waitForURL(/\/console\/login/);
  await page.getByLabel("Your name").fill("Carol");
  await page.getByLabel("Admin token").fill(ADMIN);
  await page.getByRole("button", { name: "Sign in" }).click();
  // Back where she was going.
  await page.waitForURL(`${base}/console/accounts`);
  const main = page.locator("main");
  expect(await main.textContent()).toContain("fresh");
  const rows = page.locator("tbody tr");
  expect(await rows.count()).toBe(3);
  expect(await rows.nth(1).textContent()).toContain('Globex <script>alert("name")</script>');
  expect(await rows.nth(1).textContent()).toContain("maintenance");
  expect(await rows.nth(0).locator("time").getAttribute("title")).toEndWith(" UTC");
  await browser.screenshot(page, "account-config-accounts", { docs: true });

  await page.getByRole("link", { name: "acme" }).click();
  await page.waitForURL(`${base}/console/accounts/1`);
  const text = (await main.textContent())!;
  for (const shown of ["Acme Corp", "read, write", "10.1.2.0/24", "load tester", "shop.acme.example", "Sign-up", "initech"]) expect(text).toContain(shown);
  expect(await page.content()).not.toContain("browser-s3cret");
  await browser.screenshot(page, "account-config-account-full", { fullPage: true });
  await browser.screenshot(page, "account-config-account", { docs: true });

  // The tester on the account page, prefilled with the account.
  await page.getByLabel("IP address").fill("10.1.2.3");
  await page.getByRole("button", { name: "Look up" }).click();
  await page.waitForURL(/\/console\/lookup\?/);
  const result = page.locator(".lookup-result");
  expect(await result.locator(".badge").first().textContent()).toBe("blacklisted: discard");
  expect(await result.locator(".reason").textContent()).toBe("10.1.2.0/24 contains 10.1.2.3, mode discard (the longest of 2 containing entries: 10.0.0.0/8 is shorter)");
  const entries = result.locator("tbody tr");
  expect(await entries.count()).toBe(2);
  expect(await entries.nth(0).textContent()).toContain("decides");
  await browser.screenshot(page, "account-config-lookup", { docs: true });

  // A miss says why: IPv6, the nearest entry and where it differs.
  await page.getByLabel("IP address").fill("2001:db9::1");
  await page.getByRole("button", { name: "Look up" }).click();
  await page.waitForURL(/ip=2001/);
  expect(await page.locator(".lookup-result .reason").textContent()).toContain("the nearest, 2001:db8::/32, shares 31 of its 32 prefix bits");
  expect(unexpectedDialogs).toEqual([]);
  await context.close();
});
