// A ToolIO for running a whole tool in process: output captured, signals sent by the test, exit recorded.
import type { ToolIO } from "../../src/runtime/tool-spec.ts";

export interface CapturedIO extends ToolIO {
  stdout: string[];
  stderr: string[];
  send(signal: "SIGTERM" | "SIGINT"): void;
  /** stdout as JSON values, one per line. */
  json(): unknown[];
  /** stderr as mozlog lines. */
  lines(): { Type: string; Severity: number; Fields: { msg: string } & Record<string, unknown> }[];
}

export function captureIO(env: Record<string, string | undefined>): CapturedIO {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const handlers = new Set<(s: "SIGTERM" | "SIGINT") => void>();
  return {
    stdout,
    stderr,
    env,
    isTerminal: false,
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    exit: (code) => {
      throw new Error(`exit(${code}) called`);
    },
    send: (signal) => handlers.forEach((h) => h(signal)),
    json: () => stdout.join("").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)),
    lines: () => stderr.join("").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)),
  };
}
