// `make bench`: every benchmark, then bench/results.md (and the README's copy of its tables).
//   bun bench/all.ts [--runs N] [--only tool,tool] [--full] [--help-runs N] [--out FILE]
// 1. Each bench/*.ts that reports through bench/support/report.ts runs --runs times (default 3),
//    rounds interleaved (all benchmarks once, then again) so drift on a shared machine spreads over all;
//    each figure in the table is the median of its runs. Smaller workloads than each benchmark's own
//    default keep a full run near 10 minutes on 2 cores (--full: the benchmarks' defaults; a BENCH_*
//    variable set in the environment wins over both). Any other bench/*.ts runs once, without a row.
//    bench/startup.ts is not run: its figures are the binaries table below, from the same helpers.
// 2. Per binary in dist/ (rebuilt first when older than the sources): size, idle RSS (the local stack
//    in dist mode, bench/support/idle-rss.ts) and cold --help against a minimal compiled Bun program.
// 3. bench/results.md and the README's section between the bench:results markers.
import { cpus, loadavg, totalmem } from "node:os";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_BUILD, binaryNames, buildHello, buildIdleServer, coldHelpTimes, DIST, ensureDist, ROOT } from "./support/binaries.ts";
import { idleBaseline, idleRss } from "./support/idle-rss.ts";
import { parseResults, RESULTS_ENV } from "./support/report.ts";
import { renderBinaryTable, renderResults, renderToolTable, summarizeAll, type BinaryFigures } from "./support/results-md.ts";
import { replaceReadmeTables } from "./support/readme-tables.ts";

/** Workload sizes for `make bench` (each benchmark's own default is larger; --full uses those). */
const QUICK: Record<string, Record<string, string>> = {
  "process-account-events": { BENCH_EVENTS: "6000" },
  "email-queues": { BENCH_NOTIFICATIONS: "10000" },
  // A quarter of its default, in the same shape: 4 sends per address, so the same share of first sends.
  "email-send": { BENCH_REQUESTS: "10000", BENCH_ADDRESSES: "2500", BENCH_WARMUP: "1000", BENCH_CALLER_ROUNDS: "1" },
  "event-broker": { BENCH_EVENTS: "1000", BENCH_PACED_SECONDS: "5", BENCH_BASELINE_SETS: "5000" },
  "purge-old-records": { BENCH_ROWS: "3000" },
  // 10,000 accounts is the size G1 (commit → cache, the row's latency) is measured at.
  "account-config": { BENCH_MAX_ACCOUNTS: "10000", BENCH_SOAK_MS: "3000" },
  // bench/scale-out.ts (three instances against one), when present: half its default workloads.
  "scale-out": { BENCH_EVENTS: "6000", BENCH_NOTIFICATIONS: "3000", BENCH_DELIVERIES: "2500" },
};
/** Not a tool benchmark: the runner itself, and the start-up timing it does in step 2. */
const NOT_RUN = new Set(["all", "startup"]);

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    only: { type: "string" },
    full: { type: "boolean", default: false },
    "help-runs": { type: "string", default: "15" },
    out: { type: "string", default: join(ROOT, "bench", "results.md") },
  },
});
const runs = Number(values.runs);
const helpRuns = Number(values["help-runs"]);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(helpRuns) || helpRuns < 1) throw new Error("--runs and --help-runs take a whole number ≥ 1");
const only = values.only ? new Set(values.only.split(",")) : undefined;
const say = (line: string) => console.log(`[bench] ${line}`);
const started = performance.now();
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(" ");

const files = readdirSync(join(ROOT, "bench"))
  .filter((f) => f.endsWith(".ts") && !NOT_RUN.has(f.slice(0, -3)))
  .map((f) => f.slice(0, -3))
  .filter((name) => !only || only.has(name))
  .sort();
const reports = (name: string) => readFileSync(join(ROOT, "bench", `${name}.ts`), "utf8").includes("./support/report.ts");
const reporting = files.filter(reports);
const unreported = files.filter((f) => !reports(f));

ensureDist(say);
mkdirSync(BENCH_BUILD, { recursive: true });
const resultsFile = join(BENCH_BUILD, "results.jsonl");
rmSync(resultsFile, { force: true });
const failed = new Set<string>();

function runBench(name: string, round: string): void {
  say(`${name} (${round})`);
  const t0 = performance.now();
  const env: Record<string, string | undefined> = { ...(values.full ? {} : QUICK[name]), ...process.env, [RESULTS_ENV]: resultsFile };
  const result = Bun.spawnSync([process.execPath, join(ROOT, "bench", `${name}.ts`)], { cwd: ROOT, env, stdout: "inherit", stderr: "inherit" });
  say(`${name} (${round}) exited ${result.exitCode} after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (result.exitCode !== 0) failed.add(name);
}

for (let round = 1; round <= runs; round++) {
  for (const name of reporting) runBench(name, `run ${round} of ${runs}`);
  if (round === 1) for (const name of unreported) runBench(name, "once, no row");
}

say("binaries: size, idle RSS, cold --help");
const names = binaryNames();
const help = coldHelpTimes(buildHello(), names.map((name) => ({ name, path: join(DIST, name) })), helpRuns);
const stackLog: string[] = [];
let idle: Awaited<ReturnType<typeof idleRss>>;
try {
  idle = await idleRss((line) => void stackLog.push(line));
} catch (error) {
  console.error(stackLog.join("\n"));
  say(`idle RSS: the local stack did not start (${(error as Error).message}); --help peak RSS instead`);
  idle = new Map();
}
const idleBase = await idleBaseline(buildIdleServer());
const binaries: BinaryFigures[] = [
  ...names.map((name) => {
    const figure = idle.get(name);
    return {
      name: `dist/${name}`,
      sizeBytes: statSync(join(DIST, name)).size,
      idleRssMiB: figure?.rssMiB ?? help.peakRssMiB.get(name) ?? null,
      idleMode: figure ? figure.mode : "--help peak RSS (could not idle)",
      helpMs: help.medianMs.get(name)!,
      helpRatio: help.medianMs.get(name)! / help.baselineMs,
    };
  }),
  {
    name: "minimal Bun program (baseline)",
    sizeBytes: statSync(join(BENCH_BUILD, "hello")).size,
    idleRssMiB: idleBase.rssMiB,
    idleMode: idleBase.mode,
    helpMs: help.baselineMs,
    helpRatio: null,
  },
];

const tools = summarizeAll(existsSync(resultsFile) ? parseResults(readFileSync(resultsFile, "utf8")) : []);
const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe" }).stdout.toString().trim();
const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results.md", ":!README.md") !== "";
const markdown = renderResults(
  {
    date: new Date().toISOString().replace(/:\d\d\.\d+Z$/, " UTC").replace("T", " "),
    commit: `${git("rev-parse", "--short", "HEAD")}${dirty ? " (with uncommitted changes)" : ""}`,
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown CPU",
    memoryGiB: totalmem() / 1024 ** 3,
    bunVersion: Bun.version,
    runs,
    loadAverage: `${loadAtStart} at start, ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end`,
    sizes: values.full ? "each benchmark's own default sizes (--full)" : "smaller workloads than each benchmark's own default (see Targets; --full for those)",
    helpRuns,
    unreported,
    failed: [...failed],
  },
  tools,
  binaries,
);
writeFileSync(values.out, markdown);
const readme = join(ROOT, "README.md");
if (!only) writeFileSync(readme, replaceReadmeTables(readFileSync(readme, "utf8"), renderToolTable(tools), renderBinaryTable(binaries), markdown.split("\n")[2]!));
console.log(`\n${markdown}`);
say(`wrote ${values.out}${only ? "" : " and the README's copy of its tables"} in ${((performance.now() - started) / 1000 / 60).toFixed(1)} min`);
if (failed.size) process.exitCode = 1;
