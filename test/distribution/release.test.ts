// `make release` (.ci/release DIR): one SHA256SUMS line and one <binary>.version.json per executable in
// DIR, nothing for the files release itself writes or for symlinks; run on small stand-in binaries.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "fxa-ops-release-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("SHA256SUMS lists each binary once; each version.json names version, commit, build time and Bun", () => {
  const bins = { "email-send": "one binary", "fxa-ops": "another binary" };
  for (const [name, body] of Object.entries(bins)) {
    writeFileSync(join(dir, name), body);
    chmodSync(join(dir, name), 0o755);
  }
  symlinkSync("fxa-ops", join(dir, "purge-old-records"));
  const release = () => Bun.spawnSync(["bash", ".ci/release", dir], { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(release().exitCode).toBe(0);
  expect(release().exitCode).toBe(0); // again: its own outputs are not binaries

  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  expect(readFileSync(join(dir, "SHA256SUMS"), "utf8")).toBe(Object.entries(bins).map(([n, b]) => `${sha(b)}  ${n}\n`).join(""));
  const commit = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: root }).stdout.toString().trim();
  for (const [name, body] of Object.entries(bins)) {
    const info = JSON.parse(readFileSync(join(dir, `${name}.version.json`), "utf8"));
    expect(info).toEqual({
      name,
      version: JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version,
      commit: expect.stringMatching(new RegExp(`^${commit}(-dirty)?$`)),
      builtAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      bunVersion: Bun.version,
      bytes: body.length,
      sha256: sha(body),
    });
  }
});
