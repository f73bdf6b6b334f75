// The local stack behind `make dev` and `make demo`: the database, the SQS emulator, stand-ins for
// what lies outside the toolkit (a storage node, an SMTP sink, SES, two relying parties), an inspection API, then each tool's
// schema (`<tool> migrate`) and the tools themselves (dev/tools.ts), all on free loopback ports.
//
// Contract: startStack resolves once every part answers, or stops whatever it had started and rejects.
// stop() stops in order — the tools first (SIGTERM, each finishes its work), then the stand-ins, then
// SQS and the database — and leaves no process or temporary directory behind. kill() is the second
// Ctrl-C: every child is SIGKILLed and the rest closed without waiting.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { startChild, type Child } from "./child.ts";
import { startControl } from "./control.ts";
import { chooseDatabase, startDatabase } from "./database.ts";
import { startRelyingParty } from "./relying-party.ts";
import { startSes } from "./ses.ts";
import { startSmtpSink } from "./smtp-sink.ts";
import { startSqs } from "./sqs.ts";
import { freePort } from "../test/support/pg-cluster.ts";
import { startStackStorageNode } from "./storage-node.ts";
import { BROKER_ISSUER, DEV_TOOLS, type DevTool, type ToolContext } from "./tools.ts";
import type { StackState } from "./state.ts";

export const ROOT = resolve(import.meta.dir, "..");

/** source: `bun cmd/<tool>.ts` (no build step; edits show at the next start). dist: the compiled binaries. */
export type ToolMode = "source" | "dist";

export interface StackOptions {
  env?: Record<string, string | undefined>;
  out?: (line: string) => void;
  tools?: readonly DevTool[];
  mode?: ToolMode;
}

export interface Stack {
  state: StackState;
  /** What the stand-ins received (the inspection API serves the same). */
  smtpMessages(): unknown[];
  storageRequests(): unknown[];
  sesMessages(): unknown[];
  relyingPartySets(): Record<string, unknown[]>;
  stop(): Promise<void>;
  kill(): void;
}

// Bounds for a busy 2-core machine: starting from source compiles TypeScript, and a tool's first
// purge run or database check waits on the database.
const TOOL_READY_MS = 90_000;
const TOOL_STOP_GRACE_MS = 15_000;

interface Stoppable {
  name: string;
  stop(): Promise<void>;
  kill(): void;
}

/** The command line of a tool (or of `<tool> migrate`) in the chosen mode. */
export function toolArgv(name: string, mode: ToolMode, args: readonly string[]): string[] {
  if (mode === "source") return [process.execPath, `${ROOT}/cmd/${name}.ts`, ...args];
  const binary = `${ROOT}/dist/${name}`;
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run make build first (or DEV_TOOLS=source)`);
  return [binary, ...args];
}

/** A child's environment: only what it needs, so a developer's shell settings do not leak into a tool. */
export function childEnv(env: Record<string, string | undefined>, extra: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = { NO_COLOR: "1" };
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) if (env[key]) base[key] = env[key]!;
  return { ...base, ...extra };
}

export function toolMode(env: Record<string, string | undefined>): ToolMode {
  const mode = env.DEV_TOOLS ?? "source";
  if (mode !== "source" && mode !== "dist") throw new Error(`DEV_TOOLS must be source or dist (got ${mode})`);
  return mode;
}

const secret = (prefix: string) => `${prefix}-${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;

/** The relying parties the broker delivers to: a name for the logs, and the OAuth client id. */
export const RELYING_PARTIES = [
  { name: "rp-alpha", clientId: "a1a1a1a1a1a1a1a1" },
  { name: "rp-beta", clientId: "b2b2b2b2b2b2b2b2" },
] as const;

/** A signing key made up for this stack: a private RSA JWK (JSON), as OPENID_KEY takes it. */
async function brokerSigningKey(): Promise<string> {
  const pair = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return JSON.stringify({ ...jwk, kid: secret("dev-broker-key") });
}

async function runMigrate(tool: DevTool, ctx: ToolContext, options: Required<Omit<StackOptions, "tools">>): Promise<void> {
  const command = tool.command ?? tool.name;
  const child = startChild(`${command} migrate`, toolArgv(command, options.mode, ["migrate"]), {
    env: childEnv(options.env, tool.env(ctx)),
    out: options.out,
    cwd: ROOT,
  });
  const code = await child.exited;
  if (code !== 0) throw new Error(`${command} migrate exited ${code}`);
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env = options.env ?? process.env;
  const out = options.out ?? ((line: string) => void process.stdout.write(line + "\n"));
  const tools = options.tools ?? DEV_TOOLS;
  const mode = options.mode ?? toolMode(env);
  const started: Stoppable[] = [];
  const say = (line: string) => out(`[stack] ${line}`);
  let stopping = false;

  const stop = async () => {
    stopping = true;
    for (let part = started.pop(); part; part = started.pop()) {
      await part.stop();
      say(`stopped ${part.name}`);
    }
  };
  const kill = () => {
    stopping = true;
    for (let part = started.pop(); part; part = started.pop()) part.kill();
  };

  try {
    const choice = chooseDatabase(env);
    say(`database: ${choice.kind} (${choice.why})`);
    const database = await startDatabase(choice, { out, bun: process.execPath, env });
    started.push({ name: "database", stop: database.stop, kill: database.kill });
    say(`database: ${database.description} at ${database.url}`);
    for (const limit of database.limits) say(`database limit: ${limit}`);

    const sqs = await startSqs(tools.flatMap((t) => t.queues));
    started.push({ name: "sqs", stop: sqs.stop, kill: () => void sqs.stop() });

    const storage = await startStackStorageNode(secret("dev-storage-secret"), out);
    started.push({ name: "storage node", stop: storage.stop, kill: () => void storage.stop() });
    const smtp = await startSmtpSink(out);
    started.push({ name: "smtp sink", stop: smtp.stop, kill: () => void smtp.stop() });
    const ses = startSes(out);
    started.push({ name: "ses", stop: ses.stop, kill: () => void ses.stop() });
    // The broker's port is known once it is ready; the relying parties ask for its JWKS when a SET comes.
    const jwksUrl = () => (state.tools["event-broker"]?.url ? `${state.tools["event-broker"].url}/.well-known/jwks.json` : undefined);
    const relyingParties = RELYING_PARTIES.map((rp) => startRelyingParty(rp.name, rp.clientId, BROKER_ISSUER, jwksUrl, out));
    started.push({
      name: "relying parties",
      stop: async () => void (await Promise.all(relyingParties.map((rp) => rp.stop()))),
      kill: () => relyingParties.forEach((rp) => void rp.stop()),
    });
    const relyingPartySets = () => Object.fromEntries(relyingParties.map((rp) => [rp.name, rp.sets()]));

    const state: StackState = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      control: "",
      mode,
      database: { kind: database.kind, url: database.url, description: database.description, limits: database.limits, capabilities: database.capabilities },
      sqs: { endpoint: sqs.endpoint, region: sqs.region, queues: sqs.queues },
      storage: { url: storage.url, secret: storage.secret },
      smtp: { host: smtp.host, port: smtp.port },
      ses: { endpoint: ses.endpoint },
      relyingParties: relyingParties.map((rp) => ({ name: rp.name, clientId: rp.clientId, url: rp.url })),
      tools: {},
    };
    const control = startControl({ state: () => state, smtpMessages: smtp.messages, storageRequests: storage.requests, sesMessages: ses.messages, relyingPartySets });
    state.control = control.url;
    started.push({ name: "control API", stop: control.stop, kill: () => void control.stop() });

    const ctx: ToolContext = {
      databaseUrl: database.url,
      capabilities: database.capabilities,
      sqs,
      storage,
      smtp,
      ses,
      relyingParties: state.relyingParties,
      emailToken: secret("dev-token"),
      adminToken: secret("dev-admin"),
      emailHmacKey: secret("dev-hmac-key"),
      brokerKey: await brokerSigningKey(),
      brokerToken: secret("dev-pubsub-token"),
      syncWebhook: await freePort().then((port) => ({ port, url: `http://127.0.0.1:${port}/v1/events` })),
      readyTools: state.tools,
      runTool: async (name, args, extra) =>
        await startChild(`${name} ${args.slice(0, 2).join(" ")}`, toolArgv(name, mode, args), { env: childEnv(env, extra), out, cwd: ROOT }).exited,
    };
    // A tool's commands share its schema: migrated once.
    const migrating = tools.filter((tool, i) => tools.findIndex((t) => (t.command ?? t.name) === (tool.command ?? tool.name)) === i);
    for (const tool of migrating) await runMigrate(tool, ctx, { env, out, mode });
    for (const tool of tools) await tool.seed?.(ctx);

    const children: Child[] = [];
    started.push({
      name: "tools",
      stop: async () => void (await Promise.all(children.map(async (c) => say(`${c.name} exited ${await c.stop(TOOL_STOP_GRACE_MS)}`)))),
      kill: () => children.forEach((c) => c.kill()),
    });
    const ready = new Map<string, Promise<void>>();
    for (const tool of tools) {
      ready.set(
        tool.name,
        (async () => {
          if (tool.after) await ready.get(tool.after);
          const child = startChild(tool.name, toolArgv(tool.command ?? tool.name, mode, tool.args(ctx)), { env: childEnv(env, tool.env(ctx)), out, cwd: ROOT });
          children.push(child);
          const line = await child.waitForLine(tool.readyLine, TOOL_READY_MS);
          state.tools[tool.name] = { pid: String(child.pid), ...(await tool.ready(ctx, line, child)) };
          void child.exited.then((code) => stopping || say(`${tool.name} exited ${code} on its own; the rest keeps running`));
        })(),
      );
    }
    await Promise.all(ready.values());
    // Keep the summary in the list's order, whichever tool was ready first.
    state.tools = Object.fromEntries(tools.map((t) => [t.name, state.tools[t.name]!]));
    return { state, smtpMessages: smtp.messages, storageRequests: storage.requests, sesMessages: ses.messages, relyingPartySets, stop, kill };
  } catch (error) {
    await stop();
    throw error;
  }
}
