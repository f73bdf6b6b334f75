// Several instances of one tool, each its own OS process run from source (`bun cmd/<tool>.ts`, as
// `make run` does), sharing a queue or a database: for the scale-out test and benchmark. Each instance
// keeps its own log lines (the mozlog JSON it writes to stderr), so what each one did can be told apart.
import { resolve } from "node:path";
import { startChild, type Child } from "../../dev/child.ts";

const ROOT = resolve(import.meta.dir, "../..");

export interface InstanceLine {
  msg: string;
  fields: Record<string, unknown>;
}

export interface ToolInstance {
  /** `<tool>#<n>`, n from 1. */
  readonly name: string;
  readonly child: Child;
  /** Every line so far; one that is not JSON (a crash) is kept whole as `msg`. */
  readonly lines: InstanceLine[];
  /** The lines whose message matches. */
  logged(msg: string | RegExp): InstanceLine[];
  /** Resolves once the instance has logged a line whose message starts with `msg` (rejects if it exits first). */
  waitForLog(msg: string, timeoutMs?: number): Promise<void>;
}

export interface InstancesOptions {
  /** The command line after `cmd/<tool>.ts`. */
  args: readonly string[];
  /** The environment of the n-th instance (from 0); PATH, HOME and NO_COLOR are added. */
  env: (index: number) => Record<string, string>;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function parseLine(raw: string): InstanceLine {
  try {
    const parsed = JSON.parse(raw) as { Fields?: { msg?: string } & Record<string, unknown> };
    if (parsed.Fields && typeof parsed.Fields.msg === "string") return { msg: parsed.Fields.msg, fields: parsed.Fields };
  } catch {
    // not a log line: kept whole below
  }
  return { msg: raw, fields: {} };
}

export function startInstances(tool: string, count: number, options: InstancesOptions): ToolInstance[] {
  return Array.from({ length: count }, (_, index) => {
    const name = `${tool}#${index + 1}`;
    const lines: InstanceLine[] = [];
    const prefix = `[${name}] `;
    const base: Record<string, string> = { NO_COLOR: "1" };
    for (const key of ["PATH", "HOME", "TMPDIR"]) if (process.env[key]) base[key] = process.env[key]!;
    const child = startChild(name, [process.execPath, `${ROOT}/cmd/${tool}.ts`, ...options.args], {
      env: { ...base, ...options.env(index) },
      cwd: ROOT,
      out: (line) => void lines.push(parseLine(line.slice(prefix.length))),
    });
    return {
      name,
      child,
      lines,
      logged: (msg) => lines.filter((l) => (typeof msg === "string" ? l.msg === msg : msg.test(l.msg))),
      waitForLog: async (msg, timeoutMs = 30_000) => void (await child.waitForLine(new RegExp(`"msg":"${escapeRegExp(msg)}`), timeoutMs)),
    };
  });
}

/** SIGTERM to every instance at once; their exit codes, in order. */
export async function stopInstances(instances: readonly ToolInstance[], graceMs = 30_000): Promise<number[]> {
  return await Promise.all(instances.map((i) => i.child.stop(graceMs)));
}
