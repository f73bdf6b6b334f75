// What a running stack tells other commands (the demo, send-event): where everything is. `make dev`
// writes it to .dev-stack.json (DEV_STATE_FILE overrides) and removes it at stop; a reader checks that
// the stack that wrote it is still alive.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CapabilityReport } from "./db-capabilities.ts";
import type { DatabaseKind } from "./database.ts";

export interface StackState {
  pid: number;
  startedAt: string;
  /** The inspection API (dev/control.ts). */
  control: string;
  mode: "source" | "dist";
  database: { kind: DatabaseKind; url: string; description: string; limits: string[]; capabilities: CapabilityReport };
  sqs: { endpoint: string; region: string; queues: Record<string, string> };
  storage: { url: string; secret: string };
  smtp: { host: string; port: number };
  /** The SES stand-in (email-send's "ses" provider). */
  ses: { endpoint: string };
  /** event-broker's relying-party stand-ins. */
  relyingParties: { name: string; clientId: string; url: string }[];
  /** tool → what it reported when ready (always `pid` and `summary`; HTTP tools also `url`, email-send `token`). */
  tools: Record<string, Record<string, string> & { summary: string }>;
}

export function stateFile(env: Record<string, string | undefined>): string {
  return resolve(env.DEV_STATE_FILE ?? resolve(import.meta.dir, "../.dev-stack.json"));
}

export function writeState(path: string, state: StackState): void {
  const temporary = `${path}.${process.pid}`;
  writeFileSync(temporary, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 }); // it holds the stack's secrets
  renameSync(temporary, path);
}

/** Removes the file only while it is still ours (another stack may have started since). */
export function removeState(path: string, pid: number): void {
  if (readState(path)?.pid === pid) rmSync(path, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // no such process: the stack is gone
  }
}

/** The state of a running stack, or null when there is none (no file, or its process is gone). */
export function readState(path: string): StackState | null {
  if (!existsSync(path)) return null;
  try {
    const state = JSON.parse(readFileSync(path, "utf8")) as StackState;
    return alive(state.pid) ? state : null;
  } catch {
    return null; // half-written or not ours: as if there were none
  }
}

/** readState, confirmed by the stack itself: its inspection API answers with the same pid (a pid alone
 * may have been reused by another process since the file was written). */
export async function findRunningStack(path: string): Promise<StackState | null> {
  const state = readState(path);
  if (!state) return null;
  try {
    const answer = await fetch(`${state.control}/state`, { signal: AbortSignal.timeout(2_000) });
    return ((await answer.json()) as StackState).pid === state.pid ? state : null;
  } catch {
    return null; // nothing answers there: a stale file
  }
}
