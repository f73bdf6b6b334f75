// `make dev`: starts the stack in the foreground, prints what runs where, writes the state file for
// `make demo` and `make event`, and runs until Ctrl-C (SIGINT) or SIGTERM: the first stops everything
// in order, a second stops at once.
import { killAll } from "./child.ts";
import { startStack, type Stack } from "./stack.ts";
import { removeState, stateFile, writeState } from "./state.ts";
import { summaryLines } from "./summary.ts";

const out = (line: string) => void process.stdout.write(line + "\n");
const path = stateFile(process.env);
let stack: Stack | undefined;
let signals = 0;

const onSignal = async () => {
  signals += 1;
  if (signals > 1) {
    out("[stack] stopping at once");
    stack?.kill();
    killAll();
    removeState(path, process.pid);
    process.exit(130);
  }
  if (!stack) {
    // Still starting: end the children, so the start fails quickly and stops what it had started.
    out("[stack] interrupted while starting; stopping (Ctrl-C again to stop at once)");
    killAll();
    return;
  }
  out("[stack] stopping: tools first, then the stand-ins, SQS and the database (Ctrl-C again to stop at once)");
  await stack.stop();
  removeState(path, process.pid);
  out("[stack] stopped; nothing left running");
  process.exit(0);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

try {
  stack = await startStack({ out });
} catch (error) {
  out(`[stack] could not start: ${(error as Error).message}`);
  process.exit(signals > 0 ? 130 : 1);
}
if (signals > 0) {
  await stack.stop(); // Ctrl-C came just as the last part became ready
  process.exit(130);
}
writeState(path, stack.state);
for (const line of summaryLines(stack.state, path)) out(line);
