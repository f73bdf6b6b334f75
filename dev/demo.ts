// `make demo`: the scripted story (dev/demo/steps.ts) against a running `make dev` when there is one,
// else against a fresh stack it starts and stops itself. Prints one report line per step and exits 0
// only when every step held (a step the database cannot support is skipped, saying why); otherwise 1,
// naming the failing step.
//   bun dev/demo.ts [--fresh] [--run-skipped]
//   --fresh        ignore a running make dev and start a fresh stack
//   --run-skipped  also run the steps the database lacks a capability for (to see what happens)
import { appendFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAll } from "./child.ts";
import { createDemoContext } from "./demo/context.ts";
import { runSteps } from "./demo/run.ts";
import { demoSteps } from "./demo/steps.ts";
import { startStack, type Stack } from "./stack.ts";
import { findRunningStack, stateFile, type StackState } from "./state.ts";

const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => a !== "--fresh" && a !== "--run-skipped");
if (unknown.length > 0) {
  console.error(`unknown option ${unknown.join(" ")}; usage: bun dev/demo.ts [--fresh] [--run-skipped]`);
  process.exit(2);
}

const began = performance.now();
const seconds = (from: number, to = performance.now()) => `${((to - from) / 1000).toFixed(1)} s`;
const report = (line: string) => void process.stdout.write(line + "\n");
const logPath = join(tmpdir(), `fxa-ops-demo-${process.pid}.log`);
const recent: string[] = [];
const log = (line: string) => {
  appendFileSync(logPath, line + "\n");
  recent.push(line);
  if (recent.length > 40) recent.shift();
};

let stack: Stack | undefined;
let interrupted = false;
const onSignal = async () => {
  if (interrupted) {
    stack?.kill();
    killAll();
    process.exit(130);
  }
  interrupted = true;
  report("demo: interrupted; stopping (Ctrl-C again to stop at once)");
  killAll(); // a stack still starting fails at once; a running one loses its tools and stops below
  await stack?.stop();
  process.exit(130);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

function failWith(message: string): never {
  report(message);
  report(`last lines of the log (${logPath}):`);
  for (const line of recent.slice(-30)) report(`  ${line}`);
  process.exit(1);
}

let state: StackState | null = args.has("--fresh") ? null : await findRunningStack(stateFile(process.env));
let stackStartMs = 0;
if (state) {
  report(`demo: against the running dev stack (pid ${state.pid}): ${state.database.description}, tools from ${state.mode}`);
} else {
  const t = performance.now();
  report("demo: starting a fresh stack (stopped again at the end)");
  try {
    stack = await startStack({ out: log });
  } catch (error) {
    failWith(`demo FAILED before step 1: the stack did not start: ${(error as Error).message}`);
  }
  state = stack.state;
  stackStartMs = performance.now() - t;
  report(`demo: stack ready in ${seconds(t)}: ${state.database.description}, tools from ${state.mode}`);
}
for (const limit of state.database.limits) report(`demo: database limit: ${limit}`);

const ctx = createDemoContext(state, log);
const stepsBegan = performance.now();
const steps = demoSteps();
let results;
try {
  results = await runSteps(ctx, steps, { capabilities: state.database.capabilities, runSkipped: args.has("--run-skipped"), report });
} finally {
  await ctx.close();
}
const stepsMs = performance.now() - stepsBegan;
const stopBegan = performance.now();
await stack?.stop();
const timing = `in ${seconds(began)} (${stack ? `stack start ${(stackStartMs / 1000).toFixed(1)} s, ` : ""}steps ${(stepsMs / 1000).toFixed(1)} s${stack ? `, stop ${seconds(stopBegan)}` : ""})`;

const failed = results.filter((r) => r.outcome === "fail");
const skipped = results.filter((r) => r.outcome === "skip").length;
if (failed.length > 0) {
  const first = failed[0]!;
  failWith(`demo FAILED at step ${first.number} (${first.step.title}): ${first.text}; ${failed.length} of ${steps.length} steps failed ${timing}`);
}
report(`demo held: ${results.length - skipped} of ${steps.length} steps passed${skipped ? `, ${skipped} skipped (see above)` : ""} ${timing}`);
rmSync(logPath, { force: true });
process.exit(0);
