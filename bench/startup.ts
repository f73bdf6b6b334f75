// Benchmark: a cold `--help` of every compiled tool against a minimal compiled Bun program built with
// the same flags in the same run (`console.log` and nothing else). Runs alternate A B A B so drift on a
// shared machine hits both alike; each tool's median wall time is divided by the baseline's median.
// Target (issue 8): every tool within 2.5x of the baseline. dist/fxa-ops (all tools in one) is timed too.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { percentile } from "./support/measure.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const TARGET = 2.5;
const root = resolve(import.meta.dir, "..");
const BUILD = ["build", "--compile", "--minify", "--bytecode", "--format=esm", "--splitting", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];

function build(entry: string, outfile: string): void {
  const result = Bun.spawnSync([process.execPath, ...BUILD, entry, "--outfile", outfile], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`build of ${entry} failed: ${result.stderr}`);
}

function timeOnce(command: string[]): number {
  const started = performance.now();
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const ms = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} exited ${result.exitCode}`);
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), "startup-bench-"));
try {
  writeFileSync(join(dir, "minimal.ts"), 'console.log("hello");\n');
  const baselineBin = join(dir, "minimal");
  build(join(dir, "minimal.ts"), baselineBin);
  const single = readdirSync(join(root, "cmd")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
  for (const tool of single) build(join(root, "cmd", `${tool}.ts`), join(dir, tool));
  // The all-in-one executable too: its --help lists every tool.
  build(join(root, "cmd", "all", "fxa-ops.ts"), join(dir, "fxa-ops"));
  const tools = [...single, "fxa-ops"];
  const samples = new Map<string, number[]>([["baseline", []], ...tools.map((t) => [t, []] as [string, number[]])]);
  for (let i = 0; i < RUNS + 2; i++) {
    for (const [name, list] of samples) {
      const ms = timeOnce(name === "baseline" ? [baselineBin] : [join(dir, name), "--help"]);
      if (i >= 2) list.push(ms); // the first two rounds warm the page cache
    }
  }
  const median = (list: number[]) => percentile([...list].sort((a, b) => a - b), 50);
  const base = median(samples.get("baseline")!);
  console.log(`startup: cold --help of each compiled tool, ${RUNS} runs each, alternating with a minimal compiled Bun program`);
  console.log(`  baseline (console.log only)       median ${base.toFixed(1)} ms`);
  let worst = 0;
  for (const tool of tools) {
    const toolMedian = median(samples.get(tool)!);
    const ratio = toolMedian / base;
    worst = Math.max(worst, ratio);
    console.log(`  ${`${tool} --help`.padEnd(33)} median ${toolMedian.toFixed(1)} ms  ratio ${ratio.toFixed(2)}x`);
  }
  console.log(`  worst ratio ${worst.toFixed(2)}x (target <= ${TARGET}x): ${worst <= TARGET ? "met" : "NOT met"}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
