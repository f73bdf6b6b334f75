// Runs the story's steps in order and writes one report line per step: PASS / FAIL / SKIP, what was
// checked (or what did not hold, or why it was skipped) and how long it took.
import type { CapabilityReport } from "../db-capabilities.ts";
import type { DemoContext } from "./context.ts";
import type { DemoStep } from "./steps.ts";

export type Outcome = "pass" | "fail" | "skip";

export interface StepResult {
  number: number;
  step: DemoStep;
  outcome: Outcome;
  text: string;
  ms: number;
}

// A step waits on the tools (a queue poll, a purge run); this bounds a step that would otherwise hang.
const STEP_TIMEOUT_MS = 60_000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function reportLine(result: StepResult, total: number): string {
  const label = { pass: "PASS", fail: "FAIL", skip: "SKIP" }[result.outcome];
  return `${label}  ${String(result.number).padStart(String(total).length)}/${total}  ${result.step.title}: ${result.text}  [${(result.ms / 1000).toFixed(1)} s]`;
}

export async function runSteps(
  ctx: DemoContext,
  steps: readonly DemoStep[],
  options: { capabilities: CapabilityReport; runSkipped?: boolean; report: (line: string) => void },
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const failedChapters = new Set<string>();
  for (const [index, step] of steps.entries()) {
    const started = performance.now();
    const done = (outcome: Outcome, text: string) => {
      const result = { number: index + 1, step, outcome, text, ms: performance.now() - started };
      results.push(result);
      options.report(reportLine(result, steps.length));
    };
    const missing = step.needs ? options.capabilities.missing[step.needs] : undefined;
    if (failedChapters.has(step.chapter)) {
      done("fail", `not run: an earlier ${step.chapter} step failed`);
      continue;
    }
    if (missing && !options.runSkipped) {
      done("skip", `needs ${step.needs}, which this database lacks (${missing})`);
      continue;
    }
    try {
      done("pass", await withTimeout(step.run(ctx), STEP_TIMEOUT_MS));
    } catch (error) {
      failedChapters.add(step.chapter);
      done("fail", (error as Error).message);
    }
  }
  return results;
}
