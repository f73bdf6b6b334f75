// The compiled binaries the benchmarks measure: dist/ as `make build` makes it (rebuilt when missing or
// older than the sources), minimal compiled Bun programs built with the Makefile's own BUILD_FLAGS into
// build/bench/ as the baseline, and cold `--help` timing that alternates tool and baseline runs so drift
// on a shared machine hits both alike. Used by bench/startup.ts and bench/all.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { percentile } from "./measure.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const DIST = join(ROOT, "dist");
export const BENCH_BUILD = join(ROOT, "build", "bench");

/** The tools (cmd/*.ts, as the Makefile lists them) and the all-in-one dist/fxa-ops. */
export function binaryNames(): string[] {
  const tools = readdirSync(join(ROOT, "cmd")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
  return [...tools, "fxa-ops"];
}

/** BUILD_FLAGS from the Makefile, so the baseline is built exactly as the tools are. */
export function makefileBuildFlags(makefile = readFileSync(join(ROOT, "Makefile"), "utf8")): string[] {
  const match = /^BUILD_FLAGS\s*:?=\s*(.+)$/m.exec(makefile);
  if (!match) throw new Error("no BUILD_FLAGS line in the Makefile");
  return match[1]!.trim().split(/\s+/);
}

function newestSourceMs(): number {
  let newest = 0;
  for (const dir of ["cmd", "src"]) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true }) as string[]) {
      newest = Math.max(newest, statSync(join(ROOT, dir, entry)).mtimeMs);
    }
  }
  for (const file of ["package.json", "bun.lock", "Makefile"]) newest = Math.max(newest, statSync(join(ROOT, file)).mtimeMs);
  return newest;
}

/** Runs `make build` unless every binary in dist/ is newer than every source file. */
export function ensureDist(say: (line: string) => void = console.log): void {
  const binaries = binaryNames().map((name) => join(DIST, name));
  const oldest = Math.min(...binaries.map((b) => (existsSync(b) ? statSync(b).mtimeMs : 0)));
  if (oldest > newestSourceMs()) return;
  say(oldest === 0 ? "dist/ is incomplete: make build" : "dist/ is older than the sources: make build");
  const result = Bun.spawnSync(["make", "build"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) throw new Error(`make build exited ${result.exitCode}`);
}

/** Builds `source` (a tiny program) with the Makefile's flags into build/bench/<name>; returns its path. */
export function buildMinimal(name: string, source: string): string {
  mkdirSync(BENCH_BUILD, { recursive: true });
  const entry = join(BENCH_BUILD, `${name}.ts`);
  const outfile = join(BENCH_BUILD, name);
  writeFileSync(entry, source);
  const result = Bun.spawnSync([process.execPath, "build", ...makefileBuildFlags(), entry, "--outfile", outfile], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`build of ${entry} failed: ${result.stderr}`);
  return outfile;
}

/** The `--help` baseline: a compiled program that prints one line and exits. */
export const buildHello = () => buildMinimal("hello", 'console.log("hello");\n');

/** The idle baseline: a compiled Bun.serve on port 0 that prints its port and waits. */
export const buildIdleServer = () =>
  buildMinimal("idle", 'const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });\nconsole.log(server.port);\n');

export interface HelpTimes {
  baselineMs: number;
  /** Median wall time of each binary's cold `--help`, by the name given. */
  medianMs: Map<string, number>;
  /** Peak RSS of each binary's `--help` (and of the baseline, under "baseline"), MiB, from the last run. */
  peakRssMiB: Map<string, number>;
}

function runOnce(command: string[]): { ms: number; maxRssMiB: number } {
  const started = performance.now();
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const ms = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} exited ${result.exitCode}`);
  return { ms, maxRssMiB: result.resourceUsage.maxRSS / 1048576 };
}

/** Cold `--help` of each binary against the baseline program, `runs` rounds after two warm-up rounds. */
export function coldHelpTimes(baseline: string, binaries: readonly { name: string; path: string }[], runs: number): HelpTimes {
  const commands = new Map<string, string[]>([["baseline", [baseline]], ...binaries.map((b) => [b.name, [b.path, "--help"]] as [string, string[]])]);
  const samples = new Map<string, number[]>([...commands.keys()].map((k) => [k, []]));
  const peakRssMiB = new Map<string, number>();
  for (let i = 0; i < runs + 2; i++) {
    for (const [name, command] of commands) {
      const { ms, maxRssMiB } = runOnce(command);
      if (i >= 2) samples.get(name)!.push(ms); // the first two rounds warm the page cache
      peakRssMiB.set(name, maxRssMiB);
    }
  }
  const medianOf = (list: number[]) => percentile([...list].sort((a, b) => a - b), 50);
  const medianMs = new Map(binaries.map((b) => [b.name, medianOf(samples.get(b.name)!)]));
  return { baselineMs: medianOf(samples.get("baseline")!), medianMs, peakRssMiB };
}
