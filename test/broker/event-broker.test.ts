// The whole tool in process: migrate, the admin CLI, and `serve` consuming the emulated SQS queue,
// writing the outbox and delivering verified SETs to loopback relying parties; the registry's
// LISTEN/NOTIFY and the capability source.
import { beforeAll, describe, expect, test } from "bun:test";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { tool } from "../../cmd/event-broker.ts";
import { startCapabilities } from "../../src/broker/capabilities.ts";
import { upsertClient, deleteClient } from "../../src/broker/queries.ts";
import { startClientRegistry } from "../../src/broker/registry.ts";
import { SetupError } from "../../src/core/errors.ts";
import { runTool } from "../../src/runtime/tool.ts";
import { captureLog } from "../support/log.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { startRelyingParty } from "../support/relying-party.ts";
import { startTestSqs } from "../support/sqs.ts";
import { captureIO } from "../support/tool-io.ts";
import { waitFor } from "../support/wait.ts";
import { capabilitiesVector, keys, verifySet } from "../support/broker.ts";

// The AWS SDK reads credentials from the process environment, whatever the tool's env says.
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
const db = await createTestDatabase();
const sqs = await startTestSqs();
const [rp1, rp2, rp3] = await Promise.all([startRelyingParty(), startRelyingParty(), startRelyingParty()]);
const UID = "7f5c9a1e2b3d4c5e8f90a1b2c3d4e5f6";

const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: db.url,
  OPENID_ISSUER: "https://accounts.firefox.com",
  OPENID_KEY: JSON.stringify(keys().privateJwk),
  PUBSUB_AUTHENTICATE: "false",
  BROKER_ADMIN_TOKEN: "admin-token-0123456789",
  ...sqs.env,
  ...extra,
});

async function cli(args: string[], extra: Record<string, string> = {}) {
  const io = captureIO(env(extra));
  const code = await runTool(tool, args, io);
  return { code, io };
}

beforeAll(async () => {
  const { code, io } = await cli(["migrate"]);
  expect(code).toBe(0);
  expect(io.stdout.join("")).toContain("broker applied: 1_clients_logins_deliveries");
});

describe("admin CLI", () => {
  test("clients set refuses http without --allow-insecure-webhooks (exit 2); set, list, remove", async () => {
    const refused = await cli(["clients", "set", "aa11", "--webhook-url", rp1.url]);
    expect(refused.code).toBe(2);
    expect(refused.io.lines()[0]!.Fields.msg).toContain("webhookUrl: http is allowed only on loopback with --allow-insecure-webhooks");
    const set = await cli(["clients", "set", "AA11", "--webhook-url", rp1.url, "--allow-insecure-webhooks", "--format", "rfc8935"]);
    expect(set.code).toBe(0);
    expect(set.io.json()[0]).toMatchObject({ clientId: "aa11", webhookUrl: rp1.url, resourceServer: false, format: "rfc8935" });
    const list = await cli(["clients", "list"]);
    expect(list.io.json()).toContainEqual(expect.objectContaining({ clientId: "aa11" }));
    expect((await cli(["clients", "remove", "aa11"])).code).toBe(0);
    const again = await cli(["clients", "remove", "aa11"]);
    expect(again.code).toBe(1);
    expect(again.io.lines()[0]!.Fields.msg).toBe("event-broker clients remove: no client aa11");
    expect((await cli(["deliveries", "retry"])).code).toBe(2);
    expect((await cli(["stats"])).io.json()[0]).toHaveProperty("totals");
  });

  test("a command on a database without the schema: one line naming the fix, exit 1", async () => {
    const empty = await createTestDatabase();
    const { code, io } = await cli(["clients", "list"], { DATABASE_URL: empty.url });
    expect(code).toBe(1);
    expect(io.lines()[0]!.Fields.msg).toContain("run `event-broker migrate` first");
  });

  test("serve refuses a missing signing key or issuer as usage errors naming the variable", async () => {
    expect((await cli(["serve", "--disable-queue-worker"], { OPENID_KEY: "" })).io.lines()[0]!.Fields.msg).toContain("OPENID_KEY (or OPENID_KEYFILE) must be set");
    expect((await cli(["--disable-queue-worker"], { OPENID_KEY: "{}" })).code).toBe(2);
    expect((await cli(["serve", "--disable-queue-worker"], { OPENID_ISSUER: "" })).io.lines()[0]!.Fields.msg).toContain("OPENID_ISSUER must be set");
    expect((await cli(["serve"], {})).io.lines()[0]!.Fields.msg).toContain("SERVICE_NOTIFICATION_QUEUE_URL (or --queue) must be set");
    expect((await cli(["serve", "--disable-queue-worker"], { PUBSUB_AUTHENTICATE: "true" })).io.lines()[0]!.Fields.msg).toContain("PUBSUB_VERIFICATION_TOKEN must be set");
  });
});

describe("serve", () => {
  test("SQS (raw and SNS-enveloped) → outbox → verified SETs at each RP in its format; registry changes used while running; SIGTERM exits 0", async () => {
    for (const [id, rp, extra] of [["e6eb0d1e856335fc", rp1, []], ["ed18cbc69ec23491", rp2, ["--format", "rfc8935"]]] as const) {
      expect((await cli(["clients", "set", id, "--webhook-url", rp.url, "--allow-insecure-webhooks", ...extra])).code).toBe(0);
    }
    rp2.statuses = [202];
    const queueUrl = sqs.createQueue("notifications");
    const io = captureIO(env({ SERVICE_NOTIFICATION_QUEUE_URL: queueUrl }));
    const running = runTool(tool, ["serve", "-vv", "--port", "0", "--host", "127.0.0.1", "--allow-insecure-webhooks", "--queue-wait-time", "1"], io);
    await waitFor(() => io.lines().some((l) => l.Fields.msg === "Event broker server started"), "the broker to start");
    const port = io.lines().find((l) => l.Fields.msg === "Listening")!.Fields.port as number;

    const base = { uid: UID, ts: Date.now() / 1000, timestamp: Date.now() };
    const send = (bodies: string[]) => sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));
    await send([
      JSON.stringify({ ...base, event: "login", clientId: "E6EB0D1E856335FC", deviceCount: 1, email: "a@example.com" }),
      JSON.stringify({ Type: "Notification", Message: JSON.stringify({ ...base, event: "login", clientId: "ed18cbc69ec23491", deviceCount: 1, email: "a@example.com" }) }),
    ]);
    await waitFor(async () => (await db.sql`select 1 from broker_logins where uid = ${UID}`).length === 2, "two logins");
    await send([JSON.stringify({ Type: "Notification", Message: JSON.stringify({ ...base, event: "passwordChange" }) })]);
    await rp1.waitForCalls(1);
    await rp2.waitForCalls(1);

    const jwks = (await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    const bearer = await verifySet(rp1.calls[0]!.authorization!.slice(7), jwks.keys[0]);
    expect(bearer.payload).toMatchObject({ aud: "e6eb0d1e856335fc", sub: UID, iss: "https://accounts.firefox.com", events: { "https://schemas.accounts.firefox.com/event/password-change": { changeTime: base.timestamp } } });
    expect(rp1.calls[0]!.body).toBe("");
    expect(rp2.calls[0]!.contentType).toBe("application/secevent+jwt");
    expect((await verifySet(rp2.calls[0]!.body, jwks.keys[0])).payload.aud).toBe("ed18cbc69ec23491");

    // A resource server registered while the broker runs hears of the next event.
    expect((await cli(["clients", "set", "c2a9f1d6e8b47305", "--webhook-url", rp3.url, "--allow-insecure-webhooks", "--resource-server"])).code).toBe(0);
    await waitFor(
      () => io.lines().some((l) => l.Fields.msg === "listenForClientIdWebhooks" && JSON.stringify(l.Fields.resourceServers) === '["c2a9f1d6e8b47305"]'),
      "the running broker to reload its registry",
    );
    await send([JSON.stringify({ ...base, event: "profileDataChange", locale: "de" })]);
    await rp3.waitForCalls(1);
    expect((await verifySet(rp3.calls[0]!.authorization!.slice(7))).payload.events).toEqual({ "https://schemas.accounts.firefox.com/event/profile-change": { uid: UID, locale: "de" } });

    await rp1.waitForCalls(2); // the profile change reached the first RP too
    await waitFor(async () => (await db.sql`select 1 from broker_deliveries where status = 'pending'`).length === 0, "every delivery recorded");
    const list = await cli(["deliveries", "list", "--client", "e6eb0d1e856335fc"]);
    const deliveries = list.io.json() as { status: string; attempts: { httpStatus: number }[] }[];
    expect(deliveries).toHaveLength(2);
    expect(deliveries.every((d) => d.status === "delivered" && d.attempts[0]!.httpStatus === 200)).toBe(true);
    // By user, newest first, and the next page after a given id (what the console's pager asks for).
    const mine = (await cli(["deliveries", "list", "--uid", UID])).io.json() as { id: string; uid: string }[];
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(mine.every((d) => d.uid === UID)).toBe(true);
    const older = (await cli(["deliveries", "list", "--uid", UID, "--before", mine[0]!.id])).io.json() as { id: string }[];
    expect(older.map((d) => d.id)).toEqual(mine.slice(1).map((d) => d.id));
    // Replay since a moment: none died after it; a moment that is not one is a usage error.
    expect((await cli(["deliveries", "retry", "--client", "e6eb0d1e856335fc", "--dead", "--since", "2999-01-01T00:00"])).io.json()).toEqual([{ client: "e6eb0d1e856335fc", count: 0 }]);
    expect((await cli(["deliveries", "retry", "--client", "e6eb0d1e856335fc", "--dead", "--since", "yesterday"])).code).toBe(2);

    io.send("SIGTERM");
    expect(await running).toBe(0);
    expect(sqs.depth("notifications")).toBe(0);
  });
});

describe("client registry", () => {
  test("a change is seen by a running registry within 1 s (LISTEN/NOTIFY), removals too", async () => {
    const registry = await startClientRegistry({ sql: db.sql, log: captureLog().log, reloadIntervalMs: 600_000 });
    try {
      const t0 = performance.now();
      await upsertClient(db.sql, { client_id: "beef01", webhook_url: "https://rp.example/a", is_resource_server: true, delivery_format: "bearer" }, new Date());
      await waitFor(() => registry.get("beef01") !== undefined, "the new client", 1_000);
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(registry.resourceServers()).toContain("beef01");
      await upsertClient(db.sql, { client_id: "beef01", webhook_url: "https://rp.example/b", is_resource_server: false, delivery_format: "rfc8935" }, new Date());
      await waitFor(() => registry.get("beef01")?.webhookUrl === "https://rp.example/b", "the change", 1_000);
      expect(registry.resourceServers()).not.toContain("beef01");
      expect(registry.get("beef01")!.format).toBe("rfc8935");
      await deleteClient(db.sql, "beef01");
      await waitFor(() => registry.get("beef01") === undefined, "the removal", 1_000);
    } finally {
      await registry.close();
    }
  });
});

describe("capabilities (spec §4.2, §7.4, §7.14 9)", () => {
  async function capabilityServer() {
    const seen: (string | null)[] = [];
    let answer: () => Response = () => Response.json(capabilitiesVector().response.body);
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(request) {
        seen.push(request.headers.get("authorization"));
        return answer();
      },
    });
    return { url: `http://127.0.0.1:${server.port}/v1/oauth/subscriptions/clients`, seen, set: (a: () => Response) => (answer = a), stop: () => server.stop(true) };
  }

  test("fetched at start with the raw secret (no Bearer); the cache is the vector's derived cache", async () => {
    const server = await capabilityServer();
    const cache = await startCapabilities({ url: server.url, authToken: "Zk3l9b1Yy0s2pQ7vX4tR8mN6cJ5hG2fD", refreshMs: 600_000, failOnStart: true, log: captureLog().log });
    expect(server.seen).toEqual(["Zk3l9b1Yy0s2pQ7vX4tR8mN6cJ5hG2fD"]);
    expect(Object.fromEntries(cache.get())).toEqual(capabilitiesVector().derivedCache);
    cache.close();
    await server.stop();
  });

  test("start fails when the fetch fails and CAPABILITY_FAIL_ON_START; does not otherwise", async () => {
    const server = await capabilityServer();
    server.set(() => Response.json({ code: 401, errno: 110 }, { status: 401 }));
    const failing = startCapabilities({ url: server.url, authToken: "x", refreshMs: 600_000, failOnStart: true, log: captureLog().log });
    await expect(failing).rejects.toBeInstanceOf(SetupError);
    await expect(failing).rejects.toThrow("Unexpected error fetching client capabilities from auth-server");
    const log = captureLog();
    const lenient = await startCapabilities({ url: server.url, authToken: "x", refreshMs: 600_000, failOnStart: false, log: log.log });
    expect(lenient.get().size).toBe(0);
    expect(log.lines.find((l) => l.msg === "updateCapabilities")!.fields).toMatchObject({ status: 401, message: "Error fetching client capabilities." });
    lenient.close();
    await startCapabilities({ url: "http://127.0.0.1:1/refused", refreshMs: 600_000, failOnStart: true, log: captureLog().log }).then(
      () => expect.unreachable(),
      (error) => expect(error).toBeInstanceOf(SetupError),
    );
    await server.stop();
  });

  test("a failed refresh keeps the cache; a refresh updates clients and keeps removed ones (original quirk)", async () => {
    const server = await capabilityServer();
    const log = captureLog();
    const cache = await startCapabilities({ url: server.url, refreshMs: 600_000, failOnStart: true, log: log.log });
    server.set(() => new Response("oops", { status: 500 }));
    expect(await cache.refresh()).toBe(false);
    expect(cache.get().size).toBe(4);
    server.set(() => Response.json([{ clientId: "testClient3", capabilities: ["testCapability4"] }]));
    expect(await cache.refresh()).toBe(true);
    expect(cache.get().get("testClient3")).toEqual(["testCapability4"]);
    expect(cache.get().get("e6eb0d1e856335fc")).toEqual(["guardian_vpn", "secure_proxy"]);
    cache.close();
    await server.stop();
  });
});
