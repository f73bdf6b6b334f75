// What a demo step works with: the running stack's state, clients for email-send and the inspection
// API, the stack's database (and the tokenserver repository the tools use), the stack's SQS
// queues, a way to put an account event on the queue and a way to run a tool once.
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Sql } from "../../src/db/client.ts";
import { createSql } from "../../src/db/client.ts";
import { createTokenserverRepository, type TokenserverRepository } from "../../src/tokenserver/repository.ts";
import { sendAccountEvent, type AccountEventInput } from "../account-events.ts";
import { startChild } from "../child.ts";
import type { ReceivedMessage } from "../smtp-sink.ts";
import { childEnv, ROOT, toolArgv } from "../stack.ts";
import type { StackState } from "../state.ts";
import type { StorageRequest } from "../storage-node.ts";
import type { ReceivedSet } from "../relying-party.ts";
import type { SesMessage } from "../ses.ts";

export interface HttpAnswer {
  status: number;
  body: Record<string, any>;
}

export interface DemoContext {
  state: StackState;
  /** A short id in every address and header of this run, so runs against one stack never mix. */
  run: string;
  sql: Sql;
  repo: TokenserverRepository;
  /** The demo's log (tool output and details), not the report. */
  log(line: string): void;
  send(body: Record<string, unknown>): Promise<HttpAnswer>;
  bounces(method: "GET" | "DELETE", address: string): Promise<HttpAnswer>;
  smtpMessages(): Promise<ReceivedMessage[]>;
  storageRequests(): Promise<StorageRequest[]>;
  sesMessages(): Promise<SesMessage[]>;
  /** Relying party name → the SETs it received. */
  relyingPartySets(): Promise<Record<string, ReceivedSet[]>>;
  /** Puts `body` on the stack's queue `queue`. */
  sendToQueue(queue: string, body: string): Promise<void>;
  /** Reads the stack's queue `queue` once (a short long-poll) and deletes what it read, as its consumer
   * would; resolves with the bodies. */
  drainQueue(queue: string): Promise<string[]>;
  accountEvent(input: AccountEventInput): Promise<void>;
  /** Runs `<tool> ARGS` to its end with the given environment; resolves with its exit code. */
  runTool(name: string, args: string[], env: Record<string, string>): Promise<number>;
  /** Resolves once `condition` holds (checked every 50 ms); throws naming `what` after `timeoutMs`. */
  until(condition: () => Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
}

export class CheckFailed extends Error {
  override readonly name = "CheckFailed";
}

/** A step's assertion: its message says what was expected. */
export function check(condition: unknown, expected: string): asserts condition {
  if (!condition) throw new CheckFailed(expected);
}

async function answer(response: Response): Promise<HttpAnswer> {
  const text = await response.text();
  let body: Record<string, any> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { text }; // not JSON: keep it for the failure message
  }
  return { status: response.status, body };
}

export function createDemoContext(state: StackState, log: (line: string) => void): DemoContext & { close(): Promise<void> } {
  const email = state.tools["email-send"];
  if (!email?.url || !email.token) throw new Error("the stack's state has no email-send url and token");
  const auth = { authorization: `Bearer ${email.token}` };
  // One connection: enough for the demo, and what PGlite copes with best.
  const sql = createSql(state.database.url, { max: 1, applicationName: "dev-demo" });
  const getJson = async <T>(path: string): Promise<T> => (await (await fetch(`${state.control}${path}`)).json()) as T;
  const sqs = new SQSClient({ region: state.sqs.region, endpoint: state.sqs.endpoint, credentials: { accessKeyId: "dev", secretAccessKey: "dev" } });
  const queueUrl = (queue: string) => {
    const url = state.sqs.queues[queue];
    if (!url) throw new Error(`the stack has no ${queue} queue`);
    return url;
  };
  return {
    state,
    run: crypto.randomUUID().slice(0, 8),
    sql,
    repo: createTokenserverRepository(sql),
    log,
    send: async (body) =>
      answer(await fetch(`${email.url}/send`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(body) })),
    bounces: async (method, address) => answer(await fetch(`${email.url}/bounces/${encodeURIComponent(address)}`, { method, headers: auth })),
    smtpMessages: () => getJson<ReceivedMessage[]>("/smtp/messages"),
    storageRequests: () => getJson<StorageRequest[]>("/storage/requests"),
    sesMessages: () => getJson<SesMessage[]>("/ses/messages"),
    relyingPartySets: () => getJson<Record<string, ReceivedSet[]>>("/rp/sets"),
    sendToQueue: async (queue, body) => void (await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(queue), MessageBody: body }))),
    async drainQueue(queue) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl(queue), ReceiptHandle: m.ReceiptHandle! }));
      return Messages.map((m) => m.Body ?? "");
    },
    accountEvent: async (input) => void (await sendAccountEvent(state, input)),
    async runTool(name, args, env) {
      const child = startChild(name, toolArgv(name, state.mode, args), { env: childEnv(process.env, env), out: log, cwd: ROOT });
      return await child.exited;
    },
    async until(condition, what, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs;
      while (!(await condition())) {
        if (performance.now() > deadline) throw new CheckFailed(`${what} (waited ${timeoutMs / 1000} s)`);
        await new Promise((resolve) => setTimeout(resolve, 50)); // the next look at the database
      }
    },
    close: async () => {
      sqs.destroy();
      await sql.end({ timeout: 1 });
    },
  };
}
