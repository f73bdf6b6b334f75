// The compiled purge-old-records against seeded data and a loopback storage node that verifies every
// Hawk header and token with the secret.
import { beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compiledTool } from "../support/compiled.ts";
import { startStorageNode } from "../support/storage-node.ts";
import { createTestClock, createTokenserverTestDb } from "../support/tokenserver.ts";

const SECRET = "e2e secret with spaces";
// Seeded rows get distinct, past timestamps (the binary's real clock then sees them as old enough).
const clock = createTestClock(BigInt(Date.now() - 3_600_000));
const db = await createTokenserverTestDb({ now: clock.now });
const storage = await startStorageNode(SECRET);
const tool = compiledTool("purge-old-records");

beforeEach(async () => {
  await db.reset();
  storage.reset();
  await db.repo.addNode(storage.url, 1000);
});

async function seed(n: number) {
  const old: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const user = await db.repo.allocateUser(`user${i}@example.com`, { node: storage.url, clientState: "aa", generation: 10n });
    old.push(user.uid);
    await db.repo.updateUser(user, { clientState: "bb", generation: 20n, keysChangedAt: 15n });
  }
  return old;
}

async function run(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn([tool, ...args], {
    env: { ...process.env, SYNC_TOKENSERVER__DATABASE_URL: db.url, NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

describe("dist/purge-old-records", () => {
  test("--oneshot purges every replaced row with verified Hawk DELETEs and exits 0", async () => {
    const old = await seed(25);
    const { code, stderr } = await run(["--oneshot", "--grace-period", "0", "--max-per-loop", "7", "-v", SECRET]);
    expect(code).toBe(0);
    expect(await db.repo.countOldUserRecords(0)).toBe(0n);
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from users`;
    expect(n).toBe(25); // the active rows stay
    expect(storage.requests.length).toBe(25);
    expect(new Set(storage.requests.map((r) => r.uid))).toEqual(new Set(old.map(String)));
    for (const r of storage.requests) {
      expect(r.hawk.ok).toBe(true);
      expect(r.host).toBe(`127.0.0.1:${storage.port}`);
      expect(r.token).toMatchObject({ node: storage.url, fxa_kid: "0000000000010-qg" });
    }
    const messages = stderr.trim().split("\n").map((l) => JSON.parse(l).Fields.msg);
    expect(messages[0]).toBe("Purging old user records");
    expect(messages).toContain("Finished purging old user records");
  });

  test("the secret can come from --secret-file or PURGE_SECRET instead of the process list", async () => {
    await seed(2);
    const dir = mkdtempSync(join(tmpdir(), "purge-secret-"));
    writeFileSync(join(dir, "secret"), SECRET + "\n");
    expect((await run(["--oneshot", "--grace-period", "0", "--max-records", "1", "--secret-file", join(dir, "secret")])).code).toBe(0);
    expect((await run(["--oneshot", "--grace-period", "0"], { PURGE_SECRET: SECRET })).code).toBe(0);
    expect(storage.requests.length).toBe(2);
    expect(storage.requests.every((r) => r.hawk.ok)).toBe(true);
  });

  test("--dryrun prints a JSON line per row and a summary on stdout, and changes nothing", async () => {
    await seed(3);
    const { code, stdout } = await run(["--oneshot", "--dryrun", "--grace-period", "0", SECRET]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBe(4);
    expect(lines.at(-1).summary.purge).toBe(3);
    expect(await db.repo.countOldUserRecords(0)).toBe(3n);
    expect(storage.requests.length).toBe(0);
  });

  test("usage errors exit 2; --ledger without its table exits 1 with the fix; migrate creates it", async () => {
    expect((await run(["--oneshot", "--max-per-loop", "abc", SECRET])).code).toBe(2);
    expect((await run(["--oneshot"])).code).toBe(2); // no secret anywhere
    const missing = await run(["--oneshot", "--ledger", SECRET]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("purge-old-records migrate");
    const migrated = await run(["migrate"]);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain("purge_ledger applied: 1_create_purge_ledger");
    await seed(2);
    expect((await run(["--oneshot", "--ledger", "--grace-period", "0", SECRET])).code).toBe(0);
    const [{ n }] = await db.sql<[{ n: number }]>`select count(*)::int as n from purge_ledger where outcome = 'purged'`;
    expect(n).toBe(2);
  });
});
