// Resident memory of each compiled binary when started and waiting for work. The local stack
// (dev/stack.ts) in dist mode already knows how to start every tool in its long-running mode against a
// database, the SQS emulator and stand-ins, and when each is ready; once it is, VmRSS is read from
// /proc/<pid>/status of each tool. dist/fxa-ops is started as `fxa-ops account-config serve` against the
// same database, and the baseline is a minimal compiled Bun.serve (build/bench/idle).
import { startChild } from "../../dev/child.ts";
import { childEnv, startStack, type Stack } from "../../dev/stack.ts";
import { DEV_TOOLS } from "../../dev/tools.ts";
import { readUntil } from "../../test/support/process.ts";
import { procStatusMiB } from "./measure.ts";
import { DIST } from "./binaries.ts";

export interface IdleFigure {
  rssMiB: number | null;
  /** How it idled, for the table. */
  mode: string;
}

/** How each tool waits in the stack (dev/tools.ts starts them so). */
const MODES: Record<string, string> = {
  "email-send": "serve, port 0",
  "email-queues": "consumer, empty queues",
  "process-account-events": "consumer, empty queue",
  "purge-old-records": "--purge-interval, between runs",
  "event-broker": "serve + consumer, empty queue",
  "account-config": "serve, 3 accounts loaded",
};

/** The idle baseline: the compiled minimal server's VmRSS once it printed its port. */
export async function idleBaseline(idleServer: string): Promise<IdleFigure> {
  const child = Bun.spawn([idleServer], { stdout: "pipe", stderr: "inherit" });
  try {
    if (!(await readUntil(child.stdout, "\n")).includes("\n")) throw new Error(`${idleServer} exited before it was ready`);
    return { rssMiB: procStatusMiB(child.pid, "VmRSS"), mode: "Bun.serve, port 0" };
  } finally {
    child.kill();
    await child.exited;
  }
}

/** Every tool's idle VmRSS (by binary name, fxa-ops included), with `log` receiving the stack's output. */
export async function idleRss(log: (line: string) => void): Promise<Map<string, IdleFigure>> {
  const figures = new Map<string, IdleFigure>();
  // A throwaway cluster (or PGlite), never a DATABASE_URL from the caller's shell.
  const env = { ...process.env, DATABASE_URL: undefined };
  let stack: Stack | undefined;
  try {
    stack = await startStack({ env, out: log, mode: "dist" });
    for (const tool of DEV_TOOLS) {
      const pid = Number(stack.state.tools[tool.name]?.pid);
      figures.set(tool.name, { rssMiB: Number.isInteger(pid) && pid > 0 ? procStatusMiB(pid, "VmRSS") : null, mode: MODES[tool.name] ?? "as in make dev" });
    }
    const allInOne = startChild("fxa-ops", [`${DIST}/fxa-ops`, "account-config", "serve", "--host", "127.0.0.1", "--port", "0", "-v", "--human_logs"], {
      env: childEnv(env, { DATABASE_URL: stack.state.database.url }),
      out: log,
    });
    try {
      await allInOne.waitForLine(/: Configuration loaded/, 60_000);
      figures.set("fxa-ops", { rssMiB: procStatusMiB(allInOne.pid, "VmRSS"), mode: "as account-config serve" });
    } finally {
      await allInOne.stop(15_000);
    }
  } finally {
    await stack?.stop();
  }
  return figures;
}
