// bench/results.md from the figures of a `make bench` run: the runs of each tool benchmark folded into
// one row (the median of each figure on its own, and how many runs met each target), the per-binary
// figures, and the markdown around them. Pure: no timing, no files, so the rendering is tested with
// fixed inputs (test/bench/results-md.test.ts).
import type { BenchResult } from "./report.ts";

/** The median of the numbers present (null when there are none); of an even count, the mean of the two middle ones. */
export function median(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (present.length === 0) return null;
  const mid = Math.floor(present.length / 2);
  return present.length % 2 === 1 ? present[mid]! : (present[mid - 1]! + present[mid]!) / 2;
}

export interface ToolSummary {
  tool: string;
  runs: number;
  workload: string;
  unit: string;
  baselineUnit: string;
  rssOf: BenchResult["rssOf"];
  note: string;
  throughput: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  peakRssMiB: number | null;
  baseline: number | null;
  ratio: number | null;
  /** Each target with the number of runs that met it. */
  targets: { target: string; met: number; of: number }[];
}

/** One tool's runs folded into one row. A target checked more than once in a run counts as met only if met every time. */
export function summarize(runs: readonly BenchResult[]): ToolSummary {
  const first = runs[0];
  if (!first) throw new Error("summarize needs at least one run");
  const pick = (field: "throughput" | "p50Ms" | "p99Ms" | "peakRssMiB" | "baseline" | "ratio") => median(runs.map((r) => r[field]));
  const targets: ToolSummary["targets"] = [];
  for (const run of runs) {
    const inRun = new Map<string, boolean>();
    for (const t of run.targets) inRun.set(t.target, (inRun.get(t.target) ?? true) && t.met);
    for (const [target, met] of inRun) {
      let entry = targets.find((t) => t.target === target);
      if (!entry) targets.push((entry = { target, met: 0, of: 0 }));
      entry.of += 1;
      if (met) entry.met += 1;
    }
  }
  return {
    tool: first.tool,
    runs: runs.length,
    workload: first.workload,
    unit: first.unit,
    baselineUnit: first.baselineUnit,
    rssOf: first.rssOf,
    note: first.note,
    throughput: pick("throughput"),
    p50Ms: pick("p50Ms"),
    p99Ms: pick("p99Ms"),
    peakRssMiB: pick("peakRssMiB"),
    baseline: pick("baseline"),
    ratio: pick("ratio"),
    targets,
  };
}

/** The runs of every tool, in the order each tool first reported. */
export function summarizeAll(results: readonly BenchResult[]): ToolSummary[] {
  const byTool = new Map<string, BenchResult[]>();
  for (const r of results) byTool.set(r.tool, [...(byTool.get(r.tool) ?? []), r]);
  return [...byTool.values()].map(summarize);
}

export interface BinaryFigures {
  name: string;
  sizeBytes: number;
  /** Resident memory once ready and waiting (VmRSS), or null when it could not be measured. */
  idleRssMiB: number | null;
  /** How the idle figure was taken (e.g. "serve, port 0", "--help peak RSS: cannot idle"). */
  idleMode: string;
  helpMs: number;
  /** helpMs over the minimal program's; null for the minimal program itself. */
  helpRatio: number | null;
}

export interface ResultsHeader {
  date: string;
  commit: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  bunVersion: string;
  runs: number;
  loadAverage: string;
  /** Which workload sizes the benchmarks ran with. */
  sizes: string;
  helpRuns: number;
  /** Benchmarks run without a row (they do not report through bench/support/report.ts), and any that failed. */
  unreported: string[];
  failed: string[];
}

const DASH = "—";
/** Issue 8: a cold `--help` within this many times the minimal compiled program's. */
export const HELP_TARGET = 2.5;
const grouped = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Milliseconds with sensible precision: 0.0213 ms, 4.5 ms, 812 ms, 1,204 ms. */
export function formatMs(ms: number | null): string {
  if (ms === null) return DASH;
  if (ms < 1) return `${Number(ms.toPrecision(2))} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${grouped(ms)} ms`;
}

export function formatRatio(ratio: number | null): string {
  if (ratio === null) return DASH;
  return ratio < 0.1 ? `${Number(ratio.toPrecision(2))}×` : `${ratio.toFixed(2)}×`;
}

function formatRate(value: number | null, unit: string): string {
  if (value === null) return DASH;
  return `${grouped(value, value < 100 ? 1 : 0)} ${unit}`.trim();
}

const formatMiB = (mib: number | null) => (mib === null ? DASH : `${grouped(mib)} MiB`);
const cell = (text: string) => text.replaceAll("|", "\\|");

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

export function renderToolTable(tools: readonly ToolSummary[]): string {
  return table(
    ["tool", "throughput", "p50", "p99", "peak RSS", "baseline (same run)", "ratio", "note"],
    tools.map((t) => [
      t.tool,
      formatRate(t.throughput, t.unit),
      formatMs(t.p50Ms),
      formatMs(t.p99Ms),
      t.peakRssMiB === null ? DASH : `${formatMiB(t.peakRssMiB)} (${t.rssOf})`,
      t.baseline === null ? DASH : `${formatRate(t.baseline, "")} ${t.baselineUnit}`.trim(),
      formatRatio(t.ratio),
      t.note,
    ]),
  );
}

export function renderBinaryTable(binaries: readonly BinaryFigures[]): string {
  return table(
    ["binary", "size", "idle RSS", "idle as", "cold --help", "vs minimal"],
    binaries.map((b) => [
      b.name,
      `${grouped(b.sizeBytes / 1048576, 1)} MiB`,
      formatMiB(b.idleRssMiB),
      b.idleMode,
      formatMs(b.helpMs),
      formatRatio(b.helpRatio),
    ]),
  );
}

/** "met (3 of 3 runs)", "not met (0 of 3 runs)", "met in 2 of 3 runs". */
export function verdict(met: number, of: number): string {
  if (met === of) return `met (${met} of ${of} run${of === 1 ? "" : "s"})`;
  if (met === 0) return `not met (0 of ${of} run${of === 1 ? "" : "s"})`;
  return `met in ${met} of ${of} runs`;
}

export function renderTargets(tools: readonly ToolSummary[]): string {
  return tools
    .map((t) => {
      const targets = t.targets.length ? t.targets.map((x) => `${x.target}: ${verdict(x.met, x.of)}`).join("; ") : "no target reported";
      return `- **${t.tool}** (${t.workload}): ${targets}.`;
    })
    .join("\n");
}

/** Issue 8's start-up target: every binary's cold `--help` within `target` times the minimal program's. */
export function renderHelpTarget(binaries: readonly BinaryFigures[], target: number): string {
  const measured = binaries.filter((b): b is BinaryFigures & { helpRatio: number } => b.helpRatio !== null);
  if (measured.length === 0) return "- **cold --help**: no binary measured.";
  const worst = measured.reduce((a, b) => (b.helpRatio > a.helpRatio ? b : a));
  const met = worst.helpRatio <= target;
  return `- **cold --help** (${measured.length} binaries): every binary ≤ ${target}× the minimal program (issue 8): ${met ? "met" : "not met"} (worst ${formatRatio(worst.helpRatio)}, ${worst.name}).`;
}

export function renderResults(header: ResultsHeader, tools: readonly ToolSummary[], binaries: readonly BinaryFigures[]): string {
  const lines = [
    "# Benchmark results",
    "",
    `${header.date}, commit ${header.commit}; ${header.cores} cores (${header.cpuModel}), ${grouped(header.memoryGiB, 1)} GiB memory; Bun ${header.bunVersion}; ` +
      `${header.runs} run${header.runs === 1 ? "" : "s"} of each benchmark, each figure the median of its runs on its own, ${header.sizes}; load average ${header.loadAverage}.`,
    "",
    "Written by `make bench` (bench/all.ts); do not edit by hand. The machine is shared (other work runs on the same " +
      "cores), so figures move from run to run: compare a tool with its same-run baseline (the ratio), not with another day's figures.",
    "",
    "## Tools",
    "",
    "Throughput and p50/p99 latency of each tool end to end, against a baseline measured in the same run on the same " +
      "machine (what the tool could at best reach: see each benchmark's header). Ratio = tool ÷ baseline. " +
      "Peak RSS is of the tool's own process where the benchmark runs it as one, else of the benchmark process it runs inside.",
    "",
    renderToolTable(tools),
    "",
    "## Binaries",
    "",
    `Each compiled binary in dist/: file size, resident memory when started and waiting for work (VmRSS once ready), ` +
      `and the median wall time of a cold \`--help\` over ${header.helpRuns} runs, alternating with a minimal compiled Bun program ` +
      "(`console.log`, built with the Makefile's BUILD_FLAGS into build/bench/).",
    "",
    renderBinaryTable(binaries),
    "",
    "## Targets",
    "",
    renderTargets(tools),
    renderHelpTarget(binaries, HELP_TARGET),
  ];
  if (header.unreported.length) lines.push("", `Also run, without a row (they report no headline figure): ${header.unreported.join(", ")}.`);
  if (header.failed.length) lines.push("", `Failed in this run (see the console output): ${header.failed.join(", ")}.`);
  return lines.join("\n") + "\n";
}
