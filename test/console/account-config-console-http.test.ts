// The account-config console over plain HTTP: the accounts with their freshness, one account's maps,
// the lookup tester naming the entry that matched and why; and the security properties: nothing
// without a session, values from the database escaped (an account name holding <script>), connection
// strings and tokens never rendered, no console without ACCOUNT_CONFIG_ADMIN_TOKEN.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConfigApp } from "../../src/account-config/api.ts";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { AccountConfigRunner } from "../../src/account-config/runner.ts";
import { accountConfigDatabases, type ScenarioDatabase } from "../support/account-config.ts";
import { appFetcher, signIn } from "../support/console-client.ts";
import { captureLog } from "../support/log.ts";

const databases = await accountConfigDatabases();
const ADMIN = "account-config-admin-token";
const API = "account-config-api-token-0000";
const SECRET = "postgres://acme:s3cret-pw@db.internal/acme";
const HOSTILE = "<script>alert(1)</script>";
const VERSION = { build: "b", commit: "c", source: "s", version: "v" };

let db: ScenarioDatabase;
let runner: AccountConfigRunner;
let cache: AccountConfigCache;
beforeAll(async () => {
  db = await databases.create();
  await db.sql.unsafe(`
    INSERT INTO attrib.attrib_account (id, token, name, connection_strings) VALUES
      (1, 'acme', 'Acme', '{"write": "${SECRET}"}'),
      (2, 'evil', '${HOSTILE} & Co', '{}');
    INSERT INTO attrib.attrib_account (id, token, name) SELECT g + 2, 'bulk-' || g, 'Bulk ' || g FROM generate_series(1, 120) g;
    INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode, note) VALUES
      (1, '10.0.0.0/8', 'no_sync', 'office'), (1, '10.1.2.0/24', 'discard', '${HOSTILE}'), (1, '2001:db8::/32', 'discard', NULL);
    INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode) SELECT 1, ('192.0.' || g || '.0/24')::cidr, 'discard' FROM generate_series(1, 60) g;
    INSERT INTO attrib_client.attrib_domains (account_id, domain) VALUES (2, '${HOSTILE}.example');`);
  const { log } = captureLog("warn");
  cache = new AccountConfigCache();
  runner = new AccountConfigRunner({ cache, sql: db.sql, log, pollIntervalMs: 60_000 });
  await runner.start();
});
afterAll(() => runner.stop());

function app(options: { adminToken?: string } = { adminToken: ADMIN }) {
  const { log } = captureLog("warn");
  return createConfigApp({ runner, log, version: VERSION, staleAfterMs: 30_000, apiToken: API, ...options });
}

describe("pages", () => {
  test("accounts with freshness, paged by id and filtered", async () => {
    const client = await signIn(appFetcher(app()), ADMIN);
    const first = await (await client.get("/console/accounts")).text();
    expect(first).toContain("fresh");
    expect(first).toContain(">122<"); // accounts counted
    expect(first).toContain('href="/console/accounts/1"');
    expect(first).toContain(`<time datetime="${new Date(cache.lastRefresh!.at).toISOString()}"`);
    const next = /rel="next" href="([^"]+)"/.exec(first)![1]!.replaceAll("&amp;", "&");
    expect(next).toBe("/console/accounts?after=50");
    const second = await (await client.get(next)).text();
    expect(second).toContain('href="/console/accounts/51"');
    expect(second).not.toContain('href="/console/accounts/50"');
    const filtered = await (await client.get("/console/accounts?q=ACM")).text();
    expect(filtered).toContain("acme");
    expect(filtered).not.toContain("bulk-1<");
    expect((await client.get("/console/accounts?after=x")).status).toBe(400);
  });

  test("one account: fields, its maps with a preview and a paged page per map", async () => {
    const client = await signIn(appFetcher(app()), ADMIN);
    const html = await (await client.get("/console/accounts/acme")).text();
    expect(html).toContain("Account acme");
    expect(html).toContain("10.1.2.0/24");
    expect(html).toContain("blacklistIps <span class=\"muted\">(63)</span>");
    expect(html).toContain('href="/console/accounts/1/maps/blacklistIps"');
    const map = await (await client.get("/console/accounts/1/maps/blacklistIps")).text();
    expect(map.match(/<tr>/g)!.length).toBe(51); // the header and 50 rows
    expect(map).toContain('rel="next"');
    expect((await client.get("/console/accounts/nobody")).status).toBe(404);
    expect((await client.get("/console/accounts/1/maps/nothing")).status).toBe(404);
  });

  test("the lookup tester: an IP inside a CIDR entry names the entry and why; misses and bad input explained", async () => {
    const client = await signIn(appFetcher(app()), ADMIN);
    const hit = await (await client.get("/console/lookup?account=acme&ip=10.1.2.3")).text();
    expect(hit).toContain("blacklisted: discard");
    expect(hit).toContain("10.1.2.0/24 contains 10.1.2.3, mode discard (the longest of 2 containing entries: 10.0.0.0/8 is shorter)");
    const miss = await (await client.get("/console/lookup?account=acme&ip=2001:db9::1")).text();
    expect(miss).toContain("not blacklisted");
    expect(miss).toContain("the nearest, 2001:db8::/32, shares 31 of its 32 prefix bits");
    expect((await client.get("/console/lookup?account=acme&ip=10.1.2")).status).toBe(400);
    expect((await client.get("/console/lookup?account=nobody&ip=10.1.2.3")).status).toBe(404);
    const visitor = await (await client.get(`/console/lookup?account=acme&visitor=${"a".repeat(32)}`)).text();
    expect(visitor).toContain("the account has no visitor entries");
  });
});

describe("security", () => {
  test("no page without a session", async () => {
    const fetch = appFetcher(app());
    for (const path of ["/console/accounts", "/console/accounts/1", "/console/accounts/1/maps/blacklistIps", "/console/lookup?account=acme&ip=10.1.2.3"]) {
      const response = await fetch(path, { redirect: "manual", headers: { accept: "text/html" } });
      expect(response.status, path).toBe(303);
      expect(response.headers.get("location")!.startsWith("/console/login"), path).toBe(true);
    }
    expect((await fetch("/console/logout", { method: "POST" })).status).toBe(401);
    // The API's token is not the console's.
    const refused = await fetch("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `operator=eve&token=${API}` });
    expect(refused.status).toBe(401);
  });

  test("database values are escaped: an account name, a note, a domain holding <script>", async () => {
    const client = await signIn(appFetcher(app()), ADMIN);
    for (const path of ["/console/accounts", "/console/accounts/2", "/console/accounts/acme", "/console/lookup?account=acme&ip=10.1.2.3"]) {
      const html = await (await client.get(path)).text();
      expect(html, path).not.toContain(HOSTILE);
      expect(html, path).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
    const reflected = await (await client.get(`/console/lookup?account=${encodeURIComponent(HOSTILE)}&ip=1.2.3.4`)).text();
    expect(reflected).not.toContain(HOSTILE);
  });

  test("connection strings and tokens are never rendered; no console without the admin token", async () => {
    const client = await signIn(appFetcher(app()), ADMIN);
    for (const path of ["/console/accounts", "/console/accounts/acme", "/console/lookup?account=acme&ip=10.1.2.3", "/console/accounts/1/maps/blacklistIps"]) {
      const html = await (await client.get(path)).text();
      for (const secret of [SECRET, "s3cret-pw", ADMIN, API, db.url]) expect(html, `${path} ${secret}`).not.toContain(secret);
    }
    const acme = await (await client.get("/console/accounts/acme")).text();
    expect(acme).toContain("write <span class=\"muted\">(values not shown)</span>");
    const none = appFetcher(app({}));
    expect((await none("/console/login")).status).toBe(404);
    expect((await none("/console/accounts")).status).toBe(404);
  });
});
