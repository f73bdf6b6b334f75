// A process of the stack: its stdout and stderr lines are printed with a `[name]` prefix, a log line
// can be waited for (readiness), and it is stopped with SIGTERM and a bounded wait, or killed.
//
// Each child runs in its own process group, so a Ctrl-C in the terminal reaches only the stack, which
// then stops its children in order; a tool that got the terminal's SIGINT as well would take our
// SIGTERM as a second signal and exit at once. If the stack itself exits in any way but SIGKILL, the
// children that are still alive are killed with it.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ChildOptions {
  env: Record<string, string>;
  /** Receives every finished, prefixed output line. */
  out: (line: string) => void;
  cwd?: string;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (128 + n for a signal) once the process has exited and its output is read. */
  readonly exited: Promise<number>;
  /** The first line (past or future) matching `pattern`; rejects if the process exits first or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL when it is still running after `graceMs`. */
  stop(graceMs: number): Promise<number>;
  /** SIGKILL to the whole process group, at once. */
  kill(): void;
}

const live = new Set<Child>();
process.on("exit", () => killAll());

/** SIGKILL to every child still running (a Ctrl-C while the stack is still starting). */
export function killAll(): void {
  for (const child of live) child.kill();
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function startChild(name: string, argv: readonly string[], options: ChildOptions): Child {
  const proc = spawn(argv[0]!, argv.slice(1), {
    env: options.env,
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const onLine = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.shift(); // enough to match readiness and to explain an early exit
    options.out(`[${name}] ${line}`);
    for (const watch of watchers) watch(line);
  };
  const streamsDone = [proc.stdout!, proc.stderr!].map((stream) => {
    const reader = createInterface({ input: stream, crlfDelay: Infinity });
    reader.on("line", onLine);
    return new Promise<void>((resolve) => reader.on("close", resolve));
  });
  const exitCode = new Promise<number>((resolve) => {
    proc.on("exit", (code, signal) => resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ""] ?? 0)));
    proc.on("error", (error) => {
      onLine(`could not start: ${error.message}`);
      resolve(127);
    });
  });
  const exited = exitCode.then(async (code) => {
    await Promise.all(streamsDone);
    live.delete(child);
    return code;
  });
  let gone = false;
  void exited.then(() => (gone = true));

  const signalGroup = (signal: NodeJS.Signals) => {
    if (gone || proc.pid === undefined) return;
    try {
      process.kill(-proc.pid, signal);
    } catch {
      // already gone: nothing to signal
    }
  };

  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    exited,
    waitForLine(pattern, timeoutMs) {
      const seen = lines.map((l) => l.match(pattern)).find((m) => m);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = () => {
          watchers.delete(watch);
          clearTimeout(timer);
        };
        const watch = (line: string) => {
          const match = line.match(pattern);
          if (match) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        watchers.add(watch);
        void exited.then((code) => {
          done();
          reject(new Error(`${name} exited ${code} before it was ready`));
        });
      });
    },
    async stop(graceMs) {
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: () => signalGroup("SIGKILL"),
  };
  live.add(child);
  return child;
}
