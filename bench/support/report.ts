// Every tool benchmark's headline result, in one shape, for `make bench` (bench/all.ts) to put in
// bench/results.md. A benchmark calls reportResult once at its end, next to its console lines; when
// BENCH_RESULTS=<file> is set the result is appended to that file as one JSON line, otherwise nothing
// happens (a benchmark run on its own prints as before). A figure the benchmark does not have is null,
// and the table shows "—" for it.
import { appendFileSync } from "node:fs";

/** One target from the tool's issue, and whether this run met it. */
export interface TargetCheck {
  /** e.g. "≥ 40% of baseline (issue 3)". */
  target: string;
  met: boolean;
}

export interface BenchResult {
  tool: string;
  /** What the run did, for the reader of the table (sizes, concurrency). */
  workload: string;
  throughput: number | null;
  /** e.g. "events/s". */
  unit: string;
  p50Ms: number | null;
  p99Ms: number | null;
  peakRssMiB: number | null;
  /** Whose peak RSS: the tool's own process, or the benchmark process the tool ran inside. */
  rssOf: "tool process" | "benchmark process";
  /** The same-run baseline's figure and unit (e.g. raw receive+delete, messages/s). */
  baseline: number | null;
  baselineUnit: string;
  /** The tool's figure divided by the baseline's (for throughput, higher is better). */
  ratio: number | null;
  targets: TargetCheck[];
  note: string;
}

export const RESULTS_ENV = "BENCH_RESULTS";

/** Appends the result to $BENCH_RESULTS as one JSON line, when set. */
export function reportResult(result: BenchResult, env: Record<string, string | undefined> = process.env): void {
  const file = env[RESULTS_ENV];
  if (file) appendFileSync(file, JSON.stringify(result) + "\n");
}

/** The results a run appended, in order (a line that is not a result is an error: the file is ours). */
export function parseResults(text: string): BenchResult[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as BenchResult);
}
