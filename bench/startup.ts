// Benchmark: a cold `--help` of every compiled binary in dist/ (rebuilt first when older than the
// sources) against a minimal compiled Bun program built with the Makefile's BUILD_FLAGS in the same run
// (`console.log` and nothing else). Runs alternate A B A B so drift on a shared machine hits both alike;
// each binary's median wall time is divided by the baseline's median.
// Target (issue 8): every tool within 2.5x of the baseline. dist/fxa-ops (all tools in one) is timed too.
// `make bench` (bench/all.ts) takes the same figures into bench/results.md through the same helpers.
import { join } from "node:path";
import { binaryNames, buildHello, coldHelpTimes, DIST, ensureDist } from "./support/binaries.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const TARGET = 2.5;

ensureDist();
const names = binaryNames();
const times = coldHelpTimes(buildHello(), names.map((name) => ({ name, path: join(DIST, name) })), RUNS);
console.log(`startup: cold --help of each compiled tool, ${RUNS} runs each, alternating with a minimal compiled Bun program`);
console.log(`  baseline (console.log only)       median ${times.baselineMs.toFixed(1)} ms`);
let worst = 0;
for (const name of names) {
  const ratio = times.medianMs.get(name)! / times.baselineMs;
  worst = Math.max(worst, ratio);
  console.log(`  ${`${name} --help`.padEnd(33)} median ${times.medianMs.get(name)!.toFixed(1)} ms  ratio ${ratio.toFixed(2)}x`);
}
console.log(`  worst ratio ${worst.toFixed(2)}x (target <= ${TARGET}x): ${worst <= TARGET ? "met" : "NOT met"}`);
