// fxa-ops: every tool in one executable. Each compiled tool carries the whole Bun runtime, so a host or
// image that runs several tools ships this one binary instead and runs a tool as
//   fxa-ops <tool> [OPTIONS] …    or    <tool> [OPTIONS] …  (a symlink to fxa-ops named after the tool)
// Once the tool is picked, the runtime's `main` runs it exactly as the tool's own binary does: the same
// flags, environment, `--help`, exit codes and signal handling.
//
// This file sits in cmd/all/ rather than cmd/ because cmd/*.ts is the list of tools (the Makefile, the
// startup benchmark, the local stack and the Deno check all read it) and this is not a tool of its own.
// Tools are imported lazily: `fxa-ops <tool>` loads that tool's command file only; `fxa-ops --help`
// loads all six (each is a thin declaration, the heavy modules stay behind their own lazy imports).
import { basename } from "node:path";
import { ExitCode } from "../../src/core/errors.ts";
import { VERSION } from "../../src/core/version.ts";
import { main } from "../../src/runtime/tool.ts";
import type { AnyToolSpec, ToolIO } from "../../src/runtime/tool-spec.ts";
import { renderUsage, usageStyle } from "../../src/runtime/usage.ts";

/** Every tool by the name of its binary (and of its symlink): cmd/<name>.ts. */
export const TOOLS: Readonly<Record<string, () => Promise<AnyToolSpec>>> = {
  "account-config": async () => (await import("../account-config.ts")).tool,
  "email-queues": async () => (await import("../email-queues.ts")).tool,
  "email-send": async () => (await import("../email-send.ts")).tool,
  "event-broker": async () => (await import("../event-broker.ts")).tool,
  "process-account-events": async () => (await import("../process-account-events.ts")).tool,
  "purge-old-records": async () => (await import("../purge-old-records.ts")).tool,
};

const isTool = (name: string | undefined): name is string => name !== undefined && Object.hasOwn(TOOLS, name);

/**
 * The tool to run: the name the executable was invoked by when that is a tool's (busybox style), else
 * the first word of the command line. In a compiled Bun binary `process.argv0` is that name as exec'd
 * (`/usr/local/bin/email-send` for a symlink), while argv[0] is "bun" and /proc/self/exe the link's target.
 */
export function pickTool(invokedAs: string, args: readonly string[]): { name: string; args: readonly string[] } | undefined {
  const self = basename(invokedAs);
  if (isTool(self)) return { name: self, args };
  if (isTool(args[0])) return { name: args[0], args: args.slice(1) };
  return undefined;
}

/** `fxa-ops` without a known tool: its --help and --version, else the usage on stderr and exit 2. */
export async function frontDoor(args: readonly string[], io: Pick<ToolIO, "out" | "err" | "env" | "isTerminal">): Promise<number> {
  const unknown = args[0] !== undefined && !args[0].startsWith("-");
  if (!unknown && args.includes("--version")) {
    io.out(`${VERSION}\n`);
    return ExitCode.ok;
  }
  const tools = await Promise.all(Object.entries(TOOLS).map(async ([name, load]) => [name, (await load()).meta.description] as const));
  const usage =
    renderUsage(
      { name: "fxa-ops", description: "Every fxa-ops tool in one executable: fxa-ops TOOL [OPTIONS] …", version: VERSION },
      {},
      usageStyle(io.isTerminal, io.env),
      Object.fromEntries(tools),
    ) + "Through a symlink named after a tool (ln -s fxa-ops email-send), fxa-ops is that tool. TOOL --help shows its options.\n";
  if (!unknown && (args.includes("--help") || args.includes("-h"))) {
    io.out(usage);
    return ExitCode.ok;
  }
  io.err(usage);
  io.err(`error: ${unknown ? `no such tool: ${args[0]}` : "a tool is required"}\n`);
  return ExitCode.usage;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const picked = pickTool(process.argv0, args);
  if (picked) await main(await TOOLS[picked.name]!(), picked.args);
  const io = { out: (t: string) => void process.stdout.write(t), err: (t: string) => void process.stderr.write(t), env: process.env, isTerminal: Boolean(process.stdout.isTTY) };
  process.exit(await frontDoor(args, io));
}
