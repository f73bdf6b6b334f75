// The dev stack on a DATABASE_URL (a database of the suite's server): two stacks side by side on free
// ports (the second without tools, to keep the suite quick), every part answering, and an ordered stop
// that leaves no process and no open port behind. The demo's story against a stack is in make-dev.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startStack, type Stack } from "../../dev/stack.ts";
import { SYNC_CLIENT_ID } from "../../dev/tools.ts";
import { createSql } from "../../src/db/client.ts";
import type { StackState } from "../../dev/state.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { isRunning } from "../support/process.ts";

const databases = [await createTestDatabase({ max: 1 }), await createTestDatabase({ max: 1 })];
const env = (databaseUrl: string) => ({ PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl });

const portOf = (url: string) => Number(new URL(url).port);
function ports(state: StackState): number[] {
  const http = Object.values(state.tools).flatMap((t) => (t.url ? [t.url] : []));
  return [state.sqs.endpoint, state.storage.url, state.control, state.ses.endpoint, ...state.relyingParties.map((rp) => rp.url), ...http].map(portOf).concat(state.smtp.port);
}
const TOOLS = ["email-send", "email-queues", "process-account-events", "purge-old-records", "event-broker", "process-account-events serve", "account-config"];
const QUEUES = ["ses-bounce", "ses-complaint", "ses-delivery", "email-notifications", "account-events", "service-notifications"];

/** The SMTP greeting, read from a fresh connection. */
function smtpGreeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("data", (data) => {
      socket.end();
      resolve(data.toString());
    });
    socket.once("error", reject);
  });
}

const refused = async (url: string) => fetch(url).then(() => false, () => true);

const outputs: string[][] = [[], []];
const stacks: Stack[] = await Promise.all(
  databases.map((db, i) => startStack({ env: env(db.url), out: (line) => outputs[i]!.push(line), ...(i === 1 ? { tools: [] } : {}) })),
);
afterAll(async () => {
  for (const stack of stacks) await stack.stop(); // stopping twice is harmless: the first emptied it
});

describe("two dev stacks on DATABASE_URL", () => {
  test("use free, distinct ports (the database is the suite's server)", () => {
    const [a, b] = stacks.map((s) => ports(s.state));
    for (const port of [...a!, ...b!]) expect(port).toBeGreaterThan(1024);
    expect(new Set([...a!, ...b!]).size).toBe(a!.length + b!.length);
    for (const well of [25, 4566, 5432, 8001]) expect([...a!, ...b!]).not.toContain(well);
  });

  test("every part answers", async () => {
    const { state } = stacks[0]!;
    for (const tool of ["email-send", "event-broker", "process-account-events serve", "account-config"]) expect((await fetch(`${state.tools[tool]!.url}/__heartbeat__`)).status).toBe(200);
    expect(Object.keys(state.tools)).toEqual(TOOLS);
    for (const tool of TOOLS) expect(isRunning(Number(state.tools[tool]!.pid))).toBe(true);
    expect(Object.keys(state.sqs.queues)).toEqual(QUEUES);
    // The relying parties (the stand-ins and the tokenserver's webhook, RFC 8935) are registered through
    // the broker's CLI, and the sample accounts are served.
    const db = createSql(state.database.url, { max: 1 });
    const clients = await db<{ client_id: string; webhook_url: string; delivery_format: string }[]>`select client_id, webhook_url, delivery_format from broker_clients order by client_id`;
    await db.end();
    expect(clients.map((c) => [c.client_id, c.webhook_url, c.delivery_format])).toEqual([
      [SYNC_CLIENT_ID, `${state.tools["process-account-events serve"]!.url}/v1/events`, "rfc8935"],
      ...state.relyingParties.map((rp) => [rp.clientId, rp.url, "bearer"]),
    ]);
    const accounts = (await (await fetch(`${state.tools["account-config"]!.url}/accounts`)).json()) as { token: string }[];
    expect(accounts.map((a) => a.token).sort()).toEqual(["dev-games", "dev-news", "dev-shop"]);
    // The SES stand-in gives every message its own id; a relying party refuses a SET it cannot verify.
    const email = state.tools["email-send"]!;
    const viaSes = async () =>
      (await (await fetch(`${email.url}/send`, { method: "POST", headers: { authorization: `Bearer ${email.token}`, "content-type": "application/json" }, body: JSON.stringify({ to: "a@example.com", subject: "s", body: { text: "t" }, provider: "ses" }) })).json()) as { messageId: string };
    const [one, two] = [await viaSes(), await viaSes()];
    expect(one.messageId).toStartWith("ses:");
    expect(one.messageId).not.toBe(two.messageId);
    expect((await fetch(state.relyingParties[0]!.url, { method: "POST", headers: { authorization: "Bearer a.b.c" } })).status).toBe(401);
    expect(stacks[1]!.state.tools).toEqual({});
    for (const { state } of stacks) {
      expect(state.database.kind).toBe("url");
      expect(state.database.capabilities.missing).toEqual({});
      expect(state.database.limits).toEqual([]);
      const unsigned = await fetch(`${state.storage.url}/1.5/999999999`, { method: "DELETE" });
      expect(unsigned.status).toBe(401);
      expect(await smtpGreeting(state.smtp.port)).toStartWith("220 ");
      // Every queue its tools use exists (none for the stack without tools).
      const sqs = new SQSClient({ region: state.sqs.region, endpoint: state.sqs.endpoint, credentials: { accessKeyId: "t", secretAccessKey: "t" } });
      for (const [name, url] of Object.entries(state.sqs.queues)) expect((await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(url);
      sqs.destroy();
      expect(((await (await fetch(`${state.control}/state`)).json()) as StackState).pid).toBe(process.pid);
    }
  });

  test("stop: the tools first, then the stand-ins, SQS and the database; nothing is left running", async () => {
    const states = stacks.map((s) => s.state);
    await Promise.all(stacks.map((s) => s.stop()));
    for (const [i, state] of states.entries()) {
      const out = outputs[i]!;
      const at = (line: string) => out.indexOf(`[stack] ${line}`);
      const order = ["stopped tools", "stopped control API", "stopped relying parties", "stopped ses", "stopped smtp sink", "stopped storage node", "stopped sqs", "stopped database"].map(at);
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((x, y) => x - y)).toEqual(order);
      for (const tool of i === 0 ? TOOLS : []) {
        expect(at(`${tool} exited 0`)).toBeGreaterThan(-1);
        expect(at(`${tool} exited 0`)).toBeLessThan(order[0]!);
        expect(isRunning(Number(state.tools[tool]!.pid))).toBe(false);
      }
      const http = Object.values(state.tools).flatMap((t) => (t.url ? [t.url] : []));
      for (const url of [...http, state.storage.url, state.control, state.sqs.endpoint, state.ses.endpoint, ...state.relyingParties.map((rp) => rp.url)]) expect(await refused(url)).toBe(true);
    }
  });
});
