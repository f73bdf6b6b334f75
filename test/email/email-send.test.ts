// The compiled email-send binary end to end, with PostgreSQL: --help without any configuration,
// migrate, the schema check, a clean send, a 429, a bouncing `to` replaced by its cc (seen by a real
// SMTP server), and SIGTERM finishing an in-flight request before exiting 0.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { insertBounce } from "../../src/email/bounce-store.ts";
import { compiledTool } from "../support/compiled.ts";
import { createEmailTestDb } from "../support/email.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";

const tool = compiledTool("email-send");
const db = await createEmailTestDb();

interface Envelope {
  rcpt: string[];
}

/** An SMTP server that records envelopes; `hold` delays the answer to DATA until released. */
async function startSmtp() {
  const delivered: Envelope[] = [];
  let hold: Promise<void> | undefined;
  let dataSeen = () => {};
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    onData(stream, session, callback) {
      stream.on("data", () => {});
      stream.on("end", async () => {
        delivered.push({ rcpt: session.envelope.rcptTo.map((r) => r.address) });
        dataSeen();
        await hold;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    delivered,
    /** Holds the next DATA answers; resolves `seen` when one arrives. */
    holdNext() {
      let release!: () => void;
      hold = new Promise((resolve) => (release = resolve));
      const seen = new Promise<void>((resolve) => (dataSeen = resolve));
      return { seen, release };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const smtp = await startSmtp();
afterAll(() => smtp.close());

const baseEnv = (databaseUrl: string) => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  NO_COLOR: "1",
  DATABASE_URL: databaseUrl,
  FXA_EMAIL_HMACKEY: "e2e hmac key",
  FXA_EMAIL_PROVIDER_DEFAULT: "mock",
  FXA_EMAIL_SMTP_HOST: "127.0.0.1",
  FXA_EMAIL_SMTP_PORT: String(smtp.port),
});

interface Running {
  port: number;
  child: ReturnType<typeof Bun.spawn>;
  lines: Record<string, any>[];
  exited: Promise<number>;
}

/** Starts the binary on port 0 and waits for its "Listening" line (the port is in it). */
async function start(env: Record<string, string>): Promise<Running> {
  const child = Bun.spawn([tool, "--port", "0", "--host", "127.0.0.1"], { env, stdout: "pipe", stderr: "pipe" });
  const lines: Record<string, any>[] = [];
  const reader = (child.stderr as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let listening: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => (listening = resolve));
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        const line = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (line.Fields.msg === "Listening") listening(line.Fields.port);
      }
    }
  })();
  const exited = child.exited.then(async (code) => {
    await pump;
    return code;
  });
  const early = exited.then((code) => {
    throw new Error(`email-send exited ${code} before listening: ${JSON.stringify(lines)}`);
  });
  return { port: await Promise.race([port, early]), child, lines, exited };
}

const send = (port: number, body: Record<string, unknown>) =>
  fetch(`http://127.0.0.1:${port}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ subject: "s", body: { text: "t" }, ...body }) });

describe("the compiled email-send binary", () => {
  test("--help needs no configuration, database or network", async () => {
    const child = Bun.spawn([tool, "--help"], { env: { PATH: "/usr/bin:/bin", NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
    expect(await child.exited).toBe(0);
    const out = await new Response(child.stdout).text();
    expect(out).toContain("USAGE");
    expect(out).toContain("--port");
  });

  test("a bad setting is a usage error (exit 2) naming the variable", async () => {
    const child = Bun.spawn([tool], { env: { ...baseEnv(db.url), FXA_EMAIL_PORT: "eighty" }, stdout: "pipe", stderr: "pipe" });
    expect(await child.exited).toBe(2);
    expect(await new Response(child.stderr).text()).toContain("FXA_EMAIL_PORT: invalid integer value: 'eighty'");
  });

  test("config/local.json of its working directory is read: a bad value there is a usage error naming the file", async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "email-send-cwd-")));
    try {
      mkdirSync(join(dir, "config"));
      writeFileSync(join(dir, "config", "local.json"), JSON.stringify({ port: "eighty" }));
      const child = Bun.spawn([tool], { cwd: dir, env: baseEnv(db.url), stdout: "pipe", stderr: "pipe" });
      expect(await child.exited).toBe(2);
      expect(await new Response(child.stderr).text()).toContain(`port (in ${join(dir, "config", "local.json")}): invalid integer value: 'eighty'`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("without the schema it refuses to start (exit 1); `migrate` creates it", async () => {
    const empty = await createTestDatabase({ max: 1 });
    const refused = Bun.spawn([tool, "--port", "0"], { env: baseEnv(empty.url), stdout: "pipe", stderr: "pipe" });
    expect(await refused.exited).toBe(1);
    expect(await new Response(refused.stderr).text()).toContain("email schema not found: missing table(s) email_bounces, email_message_data");
    const migrate = Bun.spawn([tool, "migrate"], { env: baseEnv(empty.url), stdout: "pipe", stderr: "pipe" });
    expect(await migrate.exited).toBe(0);
    expect(await new Response(migrate.stdout).text()).toBe("email applied: 1_bounces_and_message_data, 2_bounce_feedback_key, 3_callers_and_send_counters, 4_send_counters_unlogged\n");
  });

  test("sends, refuses, promotes a cc, and finishes an in-flight request on SIGTERM before exiting 0", async () => {
    const now = Date.now();
    await insertBounce(db.sql, { email: "bounced@example.com", bounceType: 1, bounceSubType: 2, createdAt: now - 60_000 });
    const server = await start(baseEnv(db.url));
    try {
      // A clean address goes out through the mock provider.
      const clean = await send(server.port, { to: "clean@example.com" });
      expect(clean.status).toBe(200);
      expect(await clean.text()).toBe('{"messageId":"mock:deadbeef"}');

      // An address with a recent hard bounce gets the 429 of spec/email.md §3.
      const refused = await send(server.port, { to: "Bounced@Example.com" });
      expect(refused.status).toBe(429);
      const body = (await refused.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ code: 429, error: "Too Many Requests", errno: 108, message: "Hard-bounce limit violated", address: "bounced@example.com", time: now - 60_000 });

      // A bouncing `to` with a clean cc: the cc becomes the only recipient (the SMTP server sees the envelope).
      const promoted = await send(server.port, { to: "bounced@example.com", cc: ["fresh@example.com"], provider: "smtp" });
      expect(promoted.status).toBe(200);
      expect(await promoted.json()).toEqual({ messageId: "smtp:250" });
      expect(smtp.delivered.at(-1)).toEqual({ rcpt: ["fresh@example.com"] });

      // SIGTERM while a send is in flight: the request completes, then the process exits 0.
      const held = smtp.holdNext();
      const inFlight = send(server.port, { to: "late@example.com", provider: "smtp" });
      await held.seen;
      server.child.kill("SIGTERM");
      await waitFor(() => server.lines.some((l) => l.Fields.msg === "Received SIGTERM; finishing in-flight requests"), "the SIGTERM to be seen");
      expect(server.child.exitCode).toBeNull(); // still waiting for the in-flight request
      held.release();
      const late = await inFlight;
      expect(late.status).toBe(200);
      expect(await server.exited).toBe(0);
      const messages = server.lines.map((l) => l.Fields.msg);
      expect(messages).toContain("Received SIGTERM; finishing in-flight requests");
      expect(messages.at(-1)).toBe("Stopped");
      // The startup line has the settings with the secrets masked.
      const settings = server.lines.find((l) => l.Fields.msg === "Settings::new")!.Fields.settings;
      expect(settings.hmackey).toBe("[hidden]");
      expect(JSON.stringify(server.lines)).not.toContain("e2e hmac key");
      // Every request was logged as started and finished.
      expect(server.lines.filter((l) => l.Fields.msg === "Request finished").map((l) => l.Fields.status_code)).toEqual([200, 429, 200, 200]);
    } finally {
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
    }
  });
});

/** `email-send callers ...` through the binary: exit code and stdout. */
async function callers(databaseUrl: string, ...args: string[]) {
  const child = Bun.spawn([tool, "callers", ...args], { env: baseEnv(databaseUrl), stdout: "pipe", stderr: "pipe" });
  const code = await child.exited;
  return { code, out: (await new Response(child.stdout).text()).trim(), err: await new Response(child.stderr).text() };
}

const sendAs = (port: number, token: string, body: Record<string, unknown>) =>
  fetch(`http://127.0.0.1:${port}/send`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ subject: "s", body: { text: "t" }, ...body }),
  });

describe("callers and send-rate limits across two email-send processes (issue 11)", () => {
  test("one shared limit, exactly, under concurrent load on both; Retry-After to the window's end; lines name the caller", async () => {
    const shared = await callers(db.url, "add", "shared", "--rate", "40/day");
    expect(shared.code).toBe(0);
    const perRecipient = await callers(db.url, "add", "looping", "--recipient-rate", "3/day");
    expect(perRecipient.code).toBe(0);
    const [a, b] = await Promise.all([start(baseEnv(db.url)), start(baseEnv(db.url))]);
    try {
      const ports = [a!.port, b!.port];
      // 200 sends at once, alternating between the two instances, to distinct addresses.
      const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => sendAs(ports[i % 2]!, shared.out, { to: `load${i}@example.com` })));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200).length).toBe(40);
      expect(statuses.filter((s) => s === 429).length).toBe(160);
      const admittedBy = [0, 1].map((k) => statuses.filter((s, i) => s === 200 && i % 2 === k).length);
      expect(admittedBy[0]! + admittedBy[1]!).toBe(40);
      const refused = responses.find((r) => r.status === 429)!;
      const problem = (await refused.json()) as Record<string, unknown>;
      expect(problem).toMatchObject({ code: 429, errno: 112, message: "Send-rate limit violated: caller shared may send 40 messages per day", limit: 40, period: "day" });
      const untilMidnight = Math.ceil((Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(problem.retryAfter).toBe(retryAfter);
      expect(Math.abs(retryAfter - untilMidnight)).toBeLessThanOrEqual(5);
      for (const r of responses) if (!r.bodyUsed) await r.arrayBuffer();

      // One address mailed in a loop through both instances: 3 a day, however many instances.
      const loop = await Promise.all(Array.from({ length: 30 }, (_, i) => sendAs(ports[i % 2]!, perRecipient.out, { to: "victim@example.com" })));
      expect(loop.filter((r) => r.status === 200).length).toBe(3);
      expect(loop.filter((r) => r.status === 429).length).toBe(27);
      const [row] = await db.sql<{ count: number }[]>`select count from email_send_counters where key = ${"looping\nvictim@example.com"}`;
      expect(row!.count).toBe(3);

      // Log lines of a request name its caller, on both instances.
      for (const server of [a!, b!]) {
        const finished = server.lines.filter((l) => l.Fields.msg === "Request finished");
        expect(finished.length).toBeGreaterThan(0);
        expect(finished.every((l) => l.Fields.caller === "shared" || l.Fields.caller === "looping")).toBe(true);
      }
    } finally {
      for (const server of [a!, b!]) server.child.kill("SIGTERM");
      expect(await a!.exited).toBe(0);
      expect(await b!.exited).toBe(0);
    }
  });

  test("rotation and removal take effect at once on a running server", async () => {
    const added = await callers(db.url, "add", "rotating");
    const server = await start(baseEnv(db.url));
    try {
      expect((await sendAs(server.port, added.out, { to: "x@example.com" })).status).toBe(200);
      const rotated = await callers(db.url, "rotate", "rotating");
      expect(rotated.code).toBe(0);
      expect((await sendAs(server.port, rotated.out, { to: "x@example.com" })).status).toBe(200);
      expect((await sendAs(server.port, added.out, { to: "x@example.com" })).status).toBe(200); // in its grace period
      const removed = await callers(db.url, "remove", "rotating");
      expect(removed.code).toBe(0);
      for (const token of [rotated.out, added.out]) {
        const response = await sendAs(server.port, token, { to: "x@example.com" });
        expect(response.status).toBe(401);
        expect(await response.json()).toEqual({ code: 401, error: "Unauthorized", errno: 999, message: "Missing or invalid bearer token" });
      }
      const hostile = await callers(db.url, "add", "x'); delete from email_callers; --");
      expect([hostile.code, hostile.out]).toEqual([2, ""]);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });
});
