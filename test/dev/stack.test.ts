// The dev stack on a DATABASE_URL (a database of the suite's server): two stacks side by side on free
// ports (the second without tools, to keep the suite quick), every part answering, and an ordered stop
// that leaves no process and no open port behind. The demo's story against a stack is in make-dev.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startStack, type Stack } from "../../dev/stack.ts";
import type { StackState } from "../../dev/state.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { isRunning } from "../support/process.ts";

const databases = [await createTestDatabase({ max: 1 }), await createTestDatabase({ max: 1 })];
const env = (databaseUrl: string) => ({ PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl });

const portOf = (url: string) => Number(new URL(url).port);
function ports(state: StackState): number[] {
  const email = state.tools["email-send"]?.url;
  return [state.sqs.endpoint, state.storage.url, state.control, ...(email ? [email] : [])].map(portOf).concat(state.smtp.port);
}
const TOOLS = ["email-send", "process-account-events", "purge-old-records"];

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
    expect((await fetch(`${stacks[0]!.state.tools["email-send"]!.url}/__heartbeat__`)).status).toBe(200);
    for (const tool of TOOLS) expect(isRunning(Number(stacks[0]!.state.tools[tool]!.pid))).toBe(true);
    expect(Object.keys(stacks[0]!.state.sqs.queues)).toEqual(["account-events"]);
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
      const order = ["stopped tools", "stopped control API", "stopped smtp sink", "stopped storage node", "stopped sqs", "stopped database"].map(at);
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((x, y) => x - y)).toEqual(order);
      for (const tool of i === 0 ? TOOLS : []) {
        expect(at(`${tool} exited 0`)).toBeGreaterThan(-1);
        expect(at(`${tool} exited 0`)).toBeLessThan(order[0]!);
        expect(isRunning(Number(state.tools[tool]!.pid))).toBe(false);
      }
      for (const url of [state.tools["email-send"]?.url ?? state.control, state.storage.url, state.control, state.sqs.endpoint]) expect(await refused(url)).toBe(true);
    }
  });
});
