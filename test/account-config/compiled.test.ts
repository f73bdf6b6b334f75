// The compiled binary end to end: `serve` on a real database answers at once, a blacklist change made in
// the database is served within a second (the NOTIFY path), the operator console (its JSX pages, script
// and stylesheet inside the binary) signs in and shows the lookup, `dump` prints the same account, and
// SIGTERM exits 0.
import { expect, test } from "bun:test";
import { accountConfigDatabases } from "../support/account-config.ts";
import { compiledTool } from "../support/compiled.ts";

const databases = await accountConfigDatabases();

async function firstLine(stream: ReadableStream<Uint8Array>, msg: string): Promise<Record<string, any>> {
  const reader = stream.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before "${msg}": ${text}`);
    text += new TextDecoder().decode(value);
    for (const raw of text.split("\n").slice(0, -1)) {
      const line = JSON.parse(raw);
      if (line.Fields.msg === msg) {
        reader.releaseLock();
        return line.Fields;
      }
    }
  }
}

test("serve: a blacklist change in the database is served within a second; dump agrees; SIGTERM exits 0", async () => {
  const db = await databases.create();
  await db.sql.unsafe(`INSERT INTO attrib.attrib_account (id, token, name) VALUES (1, 'acme', 'Acme')`);
  const bin = compiledTool("account-config");
  const admin = "compiled-console-admin-token";
  const env = { ...process.env, DATABASE_URL: db.url, VISSCORE_CHECK: "off", NO_COLOR: "1", ACCOUNT_CONFIG_ADMIN_TOKEN: admin };
  const child = Bun.spawn([bin, "serve", "--port", "0", "-v"], { env, stderr: "pipe", stdout: "pipe" });
  try {
    const { port } = await firstLine(child.stderr, "Listening");
    const url = `http://127.0.0.1:${port}/accounts/acme/blacklist/ip/198.51.100.7`;
    let res = await fetch(url);
    while (res.status === 503) res = await fetch(url); // until the first load is done
    expect(await res.json()).toEqual({ blacklisted: false });
    const t0 = performance.now();
    await db.sql`INSERT INTO attrib_client.attrib_blacklist_ip (account_id, ip, mode) VALUES (1, '198.51.100.0/24', 'discard')`;
    let body: unknown;
    do body = await (await fetch(url)).json();
    while ((body as { blacklisted: boolean }).blacklisted === false && performance.now() - t0 < 1_000);
    expect(body).toEqual({ blacklisted: true, mode: "discard", match: "198.51.100.0/24" });
    expect(performance.now() - t0).toBeLessThan(1_000);

    const base = `http://127.0.0.1:${port}/console`;
    const login = await fetch(`${base}/login`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `operator=ops&token=${admin}` });
    expect(login.status).toBe(303);
    const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const lookup = await (await fetch(`${base}/lookup?account=acme&ip=198.51.100.7`, { headers: { cookie } })).text();
    expect(lookup).toContain("198.51.100.0/24 contains 198.51.100.7, mode discard");
    expect((await fetch(`${base}/assets/console.js`)).status).toBe(200);

    const dump = Bun.spawnSync([bin, "dump", "--account", "acme", "--compact"], { env });
    expect(dump.exitCode).toBe(0);
    const doc = JSON.parse(dump.stdout.toString());
    expect(doc.accounts[0].blacklistIps).toEqual([{ id: 1, account_id: 1, ip: "198.51.100.0/24", mode: "discard", note: null }]);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await child.exited).toBe(0);
});
