// The account-config commands through the tool runtime, with injected signals and streams: dump (exit
// codes 0/2/3, redaction, T42), check-queues, migrate and migrate --reset-txids, and serve's stop on
// SIGTERM with a refresh and a request in flight (T41).
import { beforeAll, describe, expect, test } from "bun:test";
import { checkQueuesTool, dumpTool, tool } from "../../cmd/account-config.ts";
import { createConfigApp } from "../../src/account-config/api.ts";
import { AccountConfigCache } from "../../src/account-config/cache.ts";
import { AccountConfigRunner } from "../../src/account-config/runner.ts";
import type { ToolIO } from "../../src/runtime/tool-spec.ts";
import { runTool } from "../../src/runtime/tool.ts";
import { accountConfigDatabases, type ScenarioDatabase } from "../support/account-config.ts";
import { captureLog } from "../support/log.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startTestSqs } from "../support/sqs.ts";

interface FakeIO extends ToolIO {
  stdout: string[];
  stderr: string[];
  exits: number[];
  send(signal: "SIGTERM" | "SIGINT"): void;
  /** Resolves with the first JSON log line whose message starts with `msg`. */
  line(msg: string): Promise<Record<string, any>>;
}

function fakeIO(env: Record<string, string | undefined>): FakeIO {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exits: number[] = [];
  const handlers = new Set<(s: "SIGTERM" | "SIGINT") => void>();
  const waiters: { msg: string; resolve: (l: Record<string, any>) => void }[] = [];
  return {
    stdout, stderr, exits, env, isTerminal: false,
    out: (t) => void stdout.push(t),
    err(t) {
      stderr.push(t);
      for (const raw of t.split("\n").filter(Boolean)) {
        const line = JSON.parse(raw);
        for (const w of waiters.filter((w) => String(line.Fields.msg).startsWith(w.msg))) w.resolve(line.Fields);
      }
    },
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    exit: (code) => void exits.push(code),
    send: (signal) => handlers.forEach((h) => h(signal)),
    line: (msg) => new Promise((resolve) => waiters.push({ msg, resolve })),
  };
}

const databases = await accountConfigDatabases();
const sqs = await startTestSqs();
let db: ScenarioDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  // In process, the AWS SDK reads its credentials from process.env, not from the tool's env.
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  db = await databases.create();
  env = { DATABASE_URL: db.url, ...sqs.env };
  await db.sql.unsafe(`
    INSERT INTO attrib.attrib_account (id, token, name, connection_strings, visscore_queue)
      VALUES (2, 'beta', 'Beta', '{}', 'visscore_main_beta'),
             (1, 'acme', 'Acme', '{"write": "postgres://acme:pw@db/acme"}', 'visscore_main_acme');
    INSERT INTO attrib_client.attrib_event (id, account_id, name) VALUES (10, 1, 'purchase');
    INSERT INTO attrib_client.attrib_pattern (id, account_id, referer_id, pattern) VALUES (21, NULL, 1, 'bing\\.');`);
});

async function dump(args: string[], environment = env) {
  const io = fakeIO(environment);
  const code = await runTool(dumpTool, args, io);
  return { code, io, text: io.stdout.join("") };
}

describe("account-config dump", () => {
  test("prints the accounts in id order with secrets redacted, or shown with --include-secrets", async () => {
    const { code, text } = await dump([]);
    expect(code).toBe(0);
    const doc = JSON.parse(text);
    expect(Object.keys(doc)).toEqual(["generatedAt", "snapshot", "accounts", "defaultPatterns"]);
    expect(doc.accounts.map((a: { token: string }) => a.token)).toEqual(["acme", "beta"]);
    expect(doc.accounts[0].connection_strings).toEqual({ write: "<redacted>" });
    expect(text).not.toContain("acme:pw");
    expect(doc.defaultPatterns.map((p: { id: number }) => p.id)).toEqual([21]);
    const secret = await dump(["--include-secrets", "--account", "acme", "--compact"]);
    expect(secret.code).toBe(0);
    expect(secret.text.trim().split("\n")).toHaveLength(1);
    const one = JSON.parse(secret.text);
    expect(one.accounts).toHaveLength(1);
    expect(one.accounts[0].connection_strings).toEqual({ write: "postgres://acme:pw@db/acme" });
  });

  test("exit 3 for an unknown --account, 2 when the database cannot be reached", async () => {
    const unknown = await dump(["--account", "nobody"]);
    expect(unknown.code).toBe(3);
    expect(unknown.text).toBe("");
    const url = new URL(db.url);
    url.port = "1"; // nothing listens there
    const down = await dump([], { DATABASE_URL: url.toString() });
    expect(down.code).toBe(2);
    expect(down.io.stderr.join("")).toContain("cannot reach the database");
  });

  test("two dumps of an unchanged database have identical accounts, equal to the GET bodies (T42)", async () => {
    const a = JSON.parse((await dump([])).text);
    const b = JSON.parse((await dump([])).text);
    expect(JSON.stringify(a.accounts)).toBe(JSON.stringify(b.accounts));
    expect(JSON.stringify(a.defaultPatterns)).toBe(JSON.stringify(b.defaultPatterns));
    const { log } = captureLog("warn");
    const runner = new AccountConfigRunner({ cache: new AccountConfigCache(), sql: db.sql, log, pollIntervalMs: 60_000 });
    await runner.start();
    const app = createConfigApp({ runner, log, version: { build: "", commit: "", source: "", version: "" }, staleAfterMs: 30_000 });
    for (const account of a.accounts) {
      const { lastUpdated, ...served } = (await (await app.request(`http://x/accounts/${account.token}`)).json()) as Record<string, unknown>;
      expect(lastUpdated).toBeDefined();
      expect(JSON.stringify(served)).toBe(JSON.stringify(account));
    }
    await runner.stop();
  });
});

describe("account-config check-queues", () => {
  test("a table of every account's queue; exit 1 while one is missing, 0 once it exists", async () => {
    sqs.createQueue("visscore_main_acme");
    const io = fakeIO(env);
    expect(await runTool(checkQueuesTool, [], io)).toBe(1);
    const lines = io.stdout.join("").trim().split("\n");
    expect(lines[0]).toMatch(/^ACCOUNT\s+QUEUE\s+STATUS/);
    expect(lines[1]).toMatch(/^acme\s+visscore_main_acme\s+ok\s+http/);
    expect(lines[2]).toMatch(/^beta\s+visscore_main_beta\s+missing\s+/);
    sqs.createQueue("visscore_main_beta");
    expect(await runTool(checkQueuesTool, [], fakeIO(env))).toBe(0);
  });

  test("VISSCORE_CHECK_RETRY_QUEUE also reports visscore_retry_<token>, without changing the exit code", async () => {
    sqs.createQueue("visscore_main_acme");
    sqs.createQueue("visscore_main_beta");
    sqs.createQueue("visscore_retry_acme");
    const io = fakeIO({ ...env, VISSCORE_CHECK_RETRY_QUEUE: "on" });
    expect(await runTool(checkQueuesTool, [], io)).toBe(0);
    const lines = io.stdout.join("").trim().split("\n");
    expect(lines.find((l) => l.includes("visscore_retry_acme"))).toMatch(/^acme\s+visscore_retry_acme\s+ok\s+\(retry queue/);
    expect(lines.find((l) => l.includes("visscore_retry_beta"))).toMatch(/^beta\s+visscore_retry_beta\s+missing\s+\(retry queue/);
  });
});

describe("account-config migrate", () => {
  test("applies the schema once, then is up to date; --reset-txids restamps rows and moves the epoch", async () => {
    const empty = await createTestDatabase();
    const io = fakeIO({ DATABASE_URL: empty.url });
    expect(await runTool(tool, ["migrate"], io)).toBe(0);
    expect(io.stdout.join("")).toContain("account-config applied: 1_attrib_schema_and_change_tracking");
    const again = fakeIO({ DATABASE_URL: empty.url });
    expect(await runTool(tool, ["migrate"], again)).toBe(0);
    expect(again.stdout.join("")).toContain("up to date");
    await empty.sql`INSERT INTO attrib.attrib_account (id, token, name, updated_at) VALUES (1, 'acme', 'Acme', '2020-01-01Z')`;
    const [before] = await empty.sql<{ txid: string; epoch: string }[]>`
      SELECT a.change_txid::text AS txid, e.epoch::text AS epoch FROM attrib.attrib_account a, attrib.config_epoch e`;
    expect(await runTool(tool, ["migrate", "--reset-txids"], fakeIO({ DATABASE_URL: empty.url }))).toBe(0);
    const [after] = await empty.sql<{ txid: string; epoch: string; updated: Date }[]>`
      SELECT a.change_txid::text AS txid, e.epoch::text AS epoch, a.updated_at AS updated FROM attrib.attrib_account a, attrib.config_epoch e`;
    expect(BigInt(after!.txid)).toBeGreaterThan(BigInt(before!.txid));
    expect(BigInt(after!.epoch)).toBe(BigInt(before!.epoch) + 1n);
    expect(after!.updated.toISOString()).toBe("2020-01-01T00:00:00.000Z");
  });

  test("serve refuses a database without the schema (exit 1, names the fix)", async () => {
    const empty = await createTestDatabase();
    const io = fakeIO({ DATABASE_URL: empty.url });
    expect(await runTool(tool, ["--port", "0", "--no-visscore-check"], io)).toBe(1);
    expect(io.stderr.join("")).toContain("account-config migrate");
  });
});

/** Resolves once a refresh of the served tool waits on the test's lock. */
async function refreshBlocked(): Promise<void> {
  for (;;) {
    const [row] = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'account-config' AND wait_event_type = 'Lock'`;
    if (row!.n > 0) return;
  }
}

describe("account-config settings", () => {
  test("bad values are usage errors naming the variable or flag (exit 2); flags win over the environment", async () => {
    for (const [extra, args, named] of [
      [{ POLL_INTERVAL_MS: "soon" }, [], "POLL_INTERVAL_MS"],
      [{ LISTEN: "maybe" }, [], "LISTEN"],
      [{}, ["--port", "70000"], "--port"],
      [{ STALE_AFTER_MS: "5" }, [], "STALE_AFTER_MS"],
      [{ DATABASE_URL: "mysql://x" }, [], "DATABASE_URL"],
      [{ ACCOUNT_CONFIG_ADMIN_TOKEN: "short" }, [], "ACCOUNT_CONFIG_ADMIN_TOKEN: must be at least 16 characters"],
    ] as const) {
      const io = fakeIO({ ...env, ...extra });
      expect(await runTool(tool, [...args], io), named).toBe(2);
      expect(io.stderr.join(""), named).toContain(named);
    }
    const missing = fakeIO({});
    expect(await runTool(tool, [], missing)).toBe(2);
    expect(missing.stderr.join("")).toContain("DATABASE_URL must be set");
    const { serveSettings } = await import("../../src/account-config/settings.ts");
    const settings = serveSettings({
      flags: { host: undefined, port: "0", pollIntervalMs: undefined, staleAfterMs: undefined, fullReloadIntervalMs: undefined, listen: false, visscoreCheck: undefined, statementTimeout: undefined, verbose: undefined, humanLogs: undefined, metricHost: undefined, metricPort: undefined },
      extra: [],
      verbosity: 0,
      env: { DATABASE_URL: "postgres://a@h/db", LISTEN_DATABASE_URL: "postgresql+psycopg2://a@primary/db", PORT: "9000", LISTEN: "on", POLL_INTERVAL_MS: "2500", VISSCORE_CHECK: "off", API_TOKEN: "t", ACCOUNT_CONFIG_ADMIN_TOKEN: "0123456789abcdef" },
      label: (f) => `--${f}`,
    });
    expect(settings).toMatchObject({ port: 0, listen: false, pollIntervalMs: 2500, staleAfterMs: 30_000, visscoreCheck: false, apiToken: "t", adminToken: "0123456789abcdef", listenUrl: "postgresql://a@primary/db" });
    expect("sqs" in settings).toBe(false);
  });
});

describe("account-config serve", () => {
  test("SIGTERM with a refresh blocked in flight: requests are answered up to the signal, exit 0 well within 10 s; a second signal exits at once (T41; 143, the runtime's code)", async () => {
    const io = fakeIO(env);
    const listening = io.line("Listening");
    const loaded = io.line("Configuration loaded");
    const running = runTool(tool, ["--port", "0", "--poll-interval-ms", "100", "-v", "--no-visscore-check"], io);
    const { port } = await listening;
    await loaded;
    // Hold the refreshes: the next one waits on this lock.
    const locker = await db.sql.reserve();
    await locker.unsafe("BEGIN; LOCK TABLE attrib.config_epoch IN ACCESS EXCLUSIVE MODE");
    await refreshBlocked();
    const res = await fetch(`http://127.0.0.1:${port}/accounts`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as unknown[]).length).toBe(2);
    const t0 = performance.now();
    io.send("SIGTERM");
    expect(await running).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(io.exits).toEqual([]);
    await locker.unsafe("ROLLBACK");
    locker.release();

    const second = fakeIO(env);
    const up = second.line("Configuration loaded");
    const again = runTool(tool, ["--port", "0", "-v", "--no-visscore-check"], second);
    await up;
    const hold = await db.sql.reserve();
    await hold.unsafe("BEGIN; LOCK TABLE attrib.config_epoch IN ACCESS EXCLUSIVE MODE");
    second.send("SIGTERM");
    second.send("SIGTERM");
    // The runtime's contract for a second signal: exit at once with 128 + SIGTERM.
    expect(second.exits).toEqual([143]);
    await hold.unsafe("ROLLBACK");
    hold.release();
    await again;
  });
});
