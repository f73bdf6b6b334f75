// Builds a tool with the production flags into a temporary folder, once per test run, so end-to-end
// tests always exercise the current sources as a standalone binary.
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
const outDir = join(tmpdir(), `fxa-ops-e2e-${process.pid}`);

function compiled(entry: string, name: string): string {
  const out = join(outDir, name);
  if (existsSync(out)) return out;
  mkdirSync(outDir, { recursive: true });
  const result = Bun.spawnSync(
    [
      process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", "--splitting",
      "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", join(root, entry), "--outfile", out,
    ],
    { cwd: root, stderr: "pipe", stdout: "pipe" },
  );
  if (result.exitCode !== 0) throw new Error(`build of ${name} failed: ${result.stderr.toString()}`);
  return out;
}

export const compiledTool = (tool: string): string => compiled(join("cmd", `${tool}.ts`), tool);

/** The one executable holding every tool (cmd/all/fxa-ops.ts), as `make build` makes dist/fxa-ops. */
export const compiledFxaOps = (): string => compiled(join("cmd", "all", "fxa-ops.ts"), "fxa-ops");
