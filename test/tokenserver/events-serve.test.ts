// `process-account-events serve` as a command: its settings (usage errors name the variable), and the
// compiled binary end to end as a relying party of the real broker (event-broker serve in process:
// SQS intake, outbox, signing, RFC 8935 delivery), so an account deletion travels broker → tokenserver
// with no SQS in between; then a forged SET posted to the binary is refused and changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { tool as brokerTool } from "../../cmd/event-broker.ts";
import { tool } from "../../cmd/process-account-events.ts";
import { loadSigningKey, signSet } from "../../src/broker/set.ts";
import { runTool } from "../../src/runtime/tool.ts";
import { MAX_GENERATION } from "../../src/tokenserver/types.ts";
import { keys, migrateBroker } from "../support/broker.ts";
import { compiledTool } from "../support/compiled.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startTestSqs } from "../support/sqs.ts";
import { captureIO } from "../support/tool-io.ts";
import { settingsOf } from "../support/tool.ts";
import { createTokenserverTestDb } from "../support/tokenserver.ts";
import { waitFor } from "../support/wait.ts";

process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
const db = await createTokenserverTestDb();
const ISSUER = "https://accounts.firefox.com";
const SYNC_CLIENT = "5882386c6d801776";

const serveEnv = (extra: Record<string, string> = {}) => ({
  SYNC_TOKENSERVER__DATABASE_URL: db.url,
  BROKER_JWKS_URL: "http://127.0.0.1:1/.well-known/jwks.json",
  BROKER_ISSUER: ISSUER,
  BROKER_AUDIENCE: SYNC_CLIENT,
  ...extra,
});

describe("settings", () => {
  const serve = tool.commands!.serve as typeof tool;

  test("defaults: 127.0.0.1:8000 (PORT overrides, --port over PORT), the email domain api.accounts.firefox.com", async () => {
    const s = (await settingsOf(serve, [], serveEnv())) as unknown as { host: string; port: number; emailDomain: string; broker: Record<string, string> };
    expect([s.host, s.port, s.emailDomain]).toEqual(["127.0.0.1", 8000, "api.accounts.firefox.com"]);
    expect(s.broker).toEqual({ jwksUrl: "http://127.0.0.1:1/.well-known/jwks.json", issuer: ISSUER, audience: SYNC_CLIENT });
    expect(((await settingsOf(serve, [], serveEnv({ PORT: "9100" }))) as unknown as { port: number }).port).toBe(9100);
    const flags = (await settingsOf(serve, ["--port", "0", "--host", "0.0.0.0"], serveEnv({ PORT: "9100", SYNC_TOKENSERVER__FXA_EMAIL_DOMAIN: "example.com" }))) as unknown as { host: string; port: number; emailDomain: string };
    expect([flags.host, flags.port, flags.emailDomain]).toEqual(["0.0.0.0", 0, "example.com"]);
  });

  test("a missing or bad broker setting is a usage error (exit 2) naming it; --help needs none", async () => {
    for (const [extra, named] of [
      [{ BROKER_JWKS_URL: "" }, "BROKER_JWKS_URL"],
      [{ BROKER_JWKS_URL: "file:///etc/passwd" }, "BROKER_JWKS_URL"],
      [{ BROKER_ISSUER: "" }, "BROKER_ISSUER"],
      [{ BROKER_AUDIENCE: "" }, "BROKER_AUDIENCE"],
      [{ PORT: "70000" }, "PORT"],
      [{ SYNC_TOKENSERVER__FXA_EMAIL_DOMAIN: "a@b" }, "SYNC_TOKENSERVER__FXA_EMAIL_DOMAIN"],
    ] as const) {
      const io = captureIO(serveEnv(extra));
      expect(await runTool(tool, ["serve"], io)).toBe(2);
      expect(io.lines()[0]!.Fields.msg).toContain(named);
    }
    const help = captureIO({});
    expect(await runTool(tool, ["serve", "--help"], help)).toBe(0);
    expect(help.stdout.join("")).toContain("--port");
  });
});

const brokerDb = await createTestDatabase();
const sqs = await startTestSqs();

describe("the compiled binary as the broker's relying party", () => {
  const binary = compiledTool("process-account-events");
  const children: Bun.Subprocess[] = [];
  afterAll(() => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
  beforeAll(() => migrateBroker(brokerDb.sql));

  /** Spawns the binary and collects its JSON log lines. */
  function spawnServe(env: Record<string, string>) {
    const child = Bun.spawn([binary, "serve", "--port", "0", "--host", "127.0.0.1", "-v"], { env: { ...process.env, ...env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
    children.push(child);
    const lines: { Fields: Record<string, any> }[] = [];
    const pump = (async () => {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of child.stderr as ReadableStream<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
          lines.push(JSON.parse(buffered.slice(0, nl)));
          buffered = buffered.slice(nl + 1);
        }
      }
    })();
    return { child, lines, pump };
  }

  test("login and delete on the broker's queue → a verified RFC 8935 SET → the users row replaced; a forged SET refused", async () => {
    await db.reset();
    const uid = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    const email = `${uid}@api.accounts.firefox.com`;
    await db.repo.allocateUser(email, { generation: 10n });

    // The broker, in process, with the vectors' key.
    const queueUrl = sqs.createQueue("service-notifications");
    const brokerIO = captureIO({
      DATABASE_URL: brokerDb.url, OPENID_ISSUER: ISSUER, OPENID_KEY: JSON.stringify(keys().privateJwk), PUBSUB_AUTHENTICATE: "false",
      SERVICE_NOTIFICATION_QUEUE_URL: queueUrl, ...sqs.env,
    });
    const broker = runTool(brokerTool, ["serve", "-vv", "--port", "0", "--host", "127.0.0.1", "--allow-insecure-webhooks", "--queue-wait-time", "1"], brokerIO);
    await waitFor(() => brokerIO.lines().some((l) => l.Fields.msg === "Event broker server started"), "the broker to start");
    const brokerPort = brokerIO.lines().find((l) => l.Fields.msg === "Listening")!.Fields.port as number;

    // The tokenserver, compiled, reading the broker's JWKS.
    const serve = spawnServe(serveEnv({ BROKER_JWKS_URL: `http://127.0.0.1:${brokerPort}/.well-known/jwks.json` }));
    await waitFor(() => serve.lines.some((l) => l.Fields.msg === "Listening"), "the tokenserver webhook to listen", 30_000);
    const port = serve.lines.find((l) => l.Fields.msg === "Listening")!.Fields.port as number;
    expect(port).toBeGreaterThan(0);

    // Registered as the Sync client, RFC 8935; the running broker hears of it through NOTIFY.
    const set = captureIO({ DATABASE_URL: brokerDb.url });
    expect(await runTool(brokerTool, ["clients", "set", SYNC_CLIENT, "--webhook-url", `http://127.0.0.1:${port}/v1/events`, "--format", "rfc8935", "--allow-insecure-webhooks"], set)).toBe(0);
    await waitFor(() => brokerIO.lines().some((l) => l.Fields.msg === "listenForClientIdWebhooks" && l.Fields.clients === 1), "the broker to reload its clients");

    const now = Date.now();
    const send = (message: Record<string, unknown>) =>
      sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "0", MessageBody: JSON.stringify({ Type: "Notification", Message: JSON.stringify({ uid, ts: now / 1000, timestamp: now, ...message }) }) }] }));
    await send({ event: "login", clientId: SYNC_CLIENT, deviceCount: 1, email: "someone@example.com" });
    await waitFor(async () => (await brokerDb.sql`select 1 from broker_logins where uid = ${uid}`).length === 1, "the login recorded");
    await send({ event: "passwordChange" });
    await waitFor(async () => (await db.sql`select 1 from users where email = ${email} and generation = ${BigInt(now - 1)}`).length === 1, "the password change applied", 30_000);
    await send({ event: "delete" });
    await waitFor(async () => (await db.sql`select 1 from users where email = ${email} and generation = ${MAX_GENERATION} and replaced_at is not null`).length === 1, "the deletion applied", 30_000);
    await waitFor(async () => (await brokerDb.sql`select 1 from broker_deliveries where status = 'delivered' and last_status = 202`).length === 2, "both deliveries recorded as 202");
    expect(serve.lines.filter((l) => l.Fields.msg === "SET applied").map((l) => l.Fields.style)).toEqual(["rfc8935", "rfc8935"]);

    // A SET signed with another key under the broker's kid: refused, nothing written.
    const forged = await loadSigningKey({ ...(await crypto.subtle.exportKey("jwk", (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign"])).privateKey)), kid: keys().privateJwk.kid });
    await db.repo.allocateUser(`other@api.accounts.firefox.com`, { generation: 10n });
    const token = await signSet(forged, { clientId: SYNC_CLIENT, json: { event: "delete", uid: "other" }, issuedAtMs: now, jti: crypto.randomUUID(), issuer: ISSUER });
    const refused = await fetch(`http://127.0.0.1:${port}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ err: "authentication_failed" });
    expect((await db.sql`select replaced_at from users where email = 'other@api.accounts.firefox.com'`)[0]!.replaced_at).toBeNull();

    serve.child.kill("SIGTERM");
    expect(await serve.child.exited).toBe(0);
    await serve.pump;
    expect(serve.lines.at(-1)!.Fields.msg).toBe("Stopped");
    brokerIO.send("SIGTERM");
    expect(await broker).toBe(0);
  }, 120_000);
});
