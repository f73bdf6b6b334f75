// The bookkeeping of `make bench` with fixed inputs (no timing): a benchmark's report line, the median
// of runs, the table and target lines of bench/results.md, and the README's copy of the tables.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makefileBuildFlags } from "../../bench/support/binaries.ts";
import { README_END, README_START, replaceReadmeTables } from "../../bench/support/readme-tables.ts";
import { parseResults, reportResult, type BenchResult } from "../../bench/support/report.ts";
import { formatMs, formatRatio, median, renderBinaryTable, renderHelpTarget, renderResults, renderToolTable, summarize, summarizeAll, verdict } from "../../bench/support/results-md.ts";

const run = (over: Partial<BenchResult>): BenchResult => ({
  tool: "process-account-events",
  workload: "10,000 events",
  throughput: 3_000,
  unit: "events/s",
  p50Ms: 2,
  p99Ms: 10,
  peakRssMiB: 100,
  rssOf: "benchmark process",
  baseline: 6_000,
  baselineUnit: "messages/s raw receive+delete",
  ratio: 0.5,
  targets: [{ target: "≥ 40% of baseline (issue 3)", met: true }],
  note: "in process",
  ...over,
});

describe("reportResult", () => {
  test("appends one JSON line per result to $BENCH_RESULTS, which parseResults reads back", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-report-"));
    try {
      const file = join(dir, "results.jsonl");
      reportResult(run({ throughput: 1 }), { BENCH_RESULTS: file });
      reportResult(run({ tool: "email-send", throughput: null }), { BENCH_RESULTS: file });
      expect(readFileSync(file, "utf8").trimEnd().split("\n")).toHaveLength(2);
      const back = parseResults(readFileSync(file, "utf8"));
      expect(back.map((r) => [r.tool, r.throughput])).toEqual([["process-account-events", 1], ["email-send", null]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("writes nothing without BENCH_RESULTS", () => {
    expect(() => reportResult(run({}), {})).not.toThrow();
  });
});

describe("median", () => {
  test("of an odd count is the middle value, of an even count the mean of the two middle ones", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  test("ignores missing figures, and is null when none is there", () => {
    expect(median([null, 7, null])).toBe(7);
    expect(median([null, null])).toBeNull();
    expect(median([])).toBeNull();
  });
});

describe("summarize", () => {
  test("takes the median of each figure on its own and counts the runs that met each target", () => {
    const summary = summarize([
      run({ throughput: 3_300, p99Ms: 30, ratio: 0.55, targets: [{ target: "A", met: true }] }),
      run({ throughput: 2_900, p99Ms: 10, ratio: 0.35, targets: [{ target: "A", met: false }] }),
      run({ throughput: 3_100, p99Ms: 20, ratio: 0.45, targets: [{ target: "A", met: true }] }),
    ]);
    expect(summary.throughput).toBe(3_100);
    expect(summary.p99Ms).toBe(20);
    expect(summary.ratio).toBe(0.45);
    expect(summary.runs).toBe(3);
    expect(summary.targets).toEqual([{ target: "A", met: 2, of: 3 }]);
  });

  test("a target checked twice in one run is met only if met both times", () => {
    const summary = summarize([run({ targets: [{ target: "G4", met: true }, { target: "G4", met: false }] })]);
    expect(summary.targets).toEqual([{ target: "G4", met: 0, of: 1 }]);
  });

  test("summarizeAll keeps the order in which tools first reported", () => {
    const tools = summarizeAll([run({ tool: "b" }), run({ tool: "a" }), run({ tool: "b" })]);
    expect(tools.map((t) => [t.tool, t.runs])).toEqual([["b", 2], ["a", 1]]);
  });
});

describe("rendering", () => {
  test("a missing figure shows as a dash, never as a number", () => {
    const table = renderToolTable([summarize([run({ tool: "account-config", throughput: null, unit: "", p50Ms: null, baseline: null, ratio: null })])]);
    const row = table.split("\n")[2]!;
    expect(row).toBe("| account-config | — | — | 10.0 ms | 100 MiB (benchmark process) | — | — | in process |");
  });

  test("figures are formatted for reading: grouped thousands, ms precision, ratios", () => {
    const row = renderToolTable([summarize([run({ throughput: 12_345.6, p50Ms: 0.0213, p99Ms: 1_234, ratio: 0.004 })])]).split("\n")[2]!;
    expect(row).toContain("| 12,346 events/s | 0.021 ms | 1,234 ms |");
    expect(row).toContain("| 6,000 messages/s raw receive+delete | 0.004× |");
    expect(formatMs(4.56)).toBe("4.6 ms");
    expect(formatRatio(2.345)).toBe("2.35×");
  });

  test("a pipe in a note does not break the table", () => {
    expect(renderToolTable([summarize([run({ note: "a | b" })])])).toContain("a \\| b");
  });

  test("the binaries table shows size in MiB, idle RSS, and the ratio to the minimal program", () => {
    const table = renderBinaryTable([
      { name: "dist/email-send", sizeBytes: 116_242_608, idleRssMiB: 63.2, idleMode: "serve, port 0", helpMs: 15.5, helpRatio: 2.38 },
      { name: "minimal", sizeBytes: 100 * 1048576, idleRssMiB: null, idleMode: "n/a", helpMs: 6.5, helpRatio: null },
    ]);
    expect(table.split("\n").slice(2)).toEqual([
      "| dist/email-send | 110.9 MiB | 63 MiB | serve, port 0 | 15.5 ms | 2.38× |",
      "| minimal | 100.0 MiB | — | n/a | 6.5 ms | — |",
    ]);
  });

  test("the start-up target names the slowest binary against the minimal program", () => {
    const binary = (name: string, helpRatio: number | null) => ({ name, sizeBytes: 1, idleRssMiB: 1, idleMode: "", helpMs: 1, helpRatio });
    expect(renderHelpTarget([binary("a", 2.1), binary("b", 2.6), binary("minimal", null)], 2.5)).toBe(
      "- **cold --help** (2 binaries): every binary ≤ 2.5× the minimal program (issue 8): not met (worst 2.60×, b).",
    );
    expect(renderHelpTarget([binary("minimal", null)], 2.5)).toBe("- **cold --help**: no binary measured.");
  });

  test("verdicts say how many runs met a target", () => {
    expect(verdict(3, 3)).toBe("met (3 of 3 runs)");
    expect(verdict(0, 3)).toBe("not met (0 of 3 runs)");
    expect(verdict(2, 3)).toBe("met in 2 of 3 runs");
    expect(verdict(1, 1)).toBe("met (1 of 1 run)");
  });

  test("results.md has the run's header, both tables, a target line per tool and what failed", () => {
    const tools = summarizeAll([run({}), run({ tool: "email-send", targets: [{ target: "p99 < 20 ms (issue 5)", met: false }] })]);
    const md = renderResults(
      { date: "2026-11-29 06:00 UTC", commit: "abc1234", cores: 2, cpuModel: "Test CPU", memoryGiB: 23.4, bunVersion: "1.4.5", runs: 3, loadAverage: "1.0 2.0 3.0", sizes: "small sizes", helpRuns: 15, unreported: ["scale-out"], failed: ["event-broker"] },
      tools,
      [{ name: "dist/fxa-ops", sizeBytes: 1048576, idleRssMiB: 60, idleMode: "x", helpMs: 16, helpRatio: 2.5 }],
    );
    expect(md).toContain("2026-11-29 06:00 UTC, commit abc1234; 2 cores (Test CPU), 23.4 GiB memory; Bun 1.4.5; 3 runs of each benchmark, each figure the median of its runs on its own, small sizes; load average 1.0 2.0 3.0.");
    expect(md).toContain("\n| tool | throughput | p50 | p99 | peak RSS | baseline (same run) | ratio | note |\n");
    expect(md).toContain("| dist/fxa-ops | 1.0 MiB | 60 MiB | x | 16.0 ms | 2.50× |");
    expect(md).toContain("- **process-account-events** (10,000 events): ≥ 40% of baseline (issue 3): met (1 of 1 run).");
    expect(md).toContain("- **email-send** (10,000 events): p99 < 20 ms (issue 5): not met (0 of 1 run).");
    expect(md).toContain("- **cold --help** (1 binaries): every binary ≤ 2.5× the minimal program (issue 8): met (worst 2.50×, dist/fxa-ops).");
    expect(md).toContain("without a row (they report no headline figure): scale-out.");
    expect(md).toContain("Failed in this run (see the console output): event-broker.");
  });
});

describe("the README's copy", () => {
  const readme = `# x\n\ntext before\n${README_START}\nold table\n${README_END}\ntext after\n`;

  test("is replaced between the markers, and everything else is kept", () => {
    const next = replaceReadmeTables(readme, "| tools |", "| binaries |", "run line");
    expect(next).toBe(`# x\n\ntext before\n${README_START}\nFrom bench/results.md: run line\n\n| tools |\n\n| binaries |\n${README_END}\ntext after\n`);
    expect(replaceReadmeTables(next, "| tools 2 |", "| binaries |", "run line")).toContain("| tools 2 |\n");
  });

  test("is left alone when a marker is missing", () => {
    expect(replaceReadmeTables("no markers", "a", "b", "c")).toBe("no markers");
  });
});

test("the minimal program is built with the Makefile's BUILD_FLAGS", () => {
  expect(makefileBuildFlags("X := 1\nBUILD_FLAGS := --compile --minify  --bytecode\nY := 2\n")).toEqual(["--compile", "--minify", "--bytecode"]);
  expect(makefileBuildFlags()).toContain("--compile");
  expect(() => makefileBuildFlags("nothing here")).toThrow(/BUILD_FLAGS/);
});
