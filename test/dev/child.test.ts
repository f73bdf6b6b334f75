// The stack's child processes: prefixed output, waiting for a line, a bounded stop that escalates to
// SIGKILL, and a kill that reaches the whole process group.
import { describe, expect, test } from "bun:test";
import { startChild } from "../../dev/child.ts";
import { isRunning } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

const bun = process.execPath;

function run(script: string) {
  const lines: string[] = [];
  const child = startChild("kid", [bun, "-e", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, out: (l) => lines.push(l) });
  return { child, lines };
}

describe("a stack child", () => {
  test("prints stdout and stderr lines with its prefix and exits with its code", async () => {
    const { child, lines } = run(`console.log("to stdout"); console.error("to stderr"); process.exit(3)`);
    expect(await child.exited).toBe(3);
    expect(lines.sort()).toEqual(["[kid] to stderr", "[kid] to stdout"]);
  });

  test("waitForLine finds a line already printed and one still to come", async () => {
    const { child } = run(`console.log("ready 41"); process.stdin.resume(); setTimeout(() => console.log("later 42"), 50); setTimeout(() => {}, 60000)`);
    expect((await child.waitForLine(/^ready (\d+)$/, 10_000))[1]).toBe("41");
    expect((await child.waitForLine(/^ready (\d+)$/, 10_000))[1]).toBe("41");
    expect((await child.waitForLine(/^later (\d+)$/, 10_000))[1]).toBe("42");
    expect(await child.stop(5_000)).toBe(143);
  });

  test("waitForLine rejects when the process exits before the line", async () => {
    const { child } = run(`console.log("starting"); process.exit(2)`);
    expect(child.waitForLine(/never/, 10_000)).rejects.toThrow("kid exited 2 before it was ready");
    await child.exited;
  });

  test("stop sends SIGTERM, then SIGKILL once the grace period is over", async () => {
    const { child } = run(`process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("up"); setInterval(() => {}, 1000)`);
    await child.waitForLine(/^up$/, 10_000);
    const began = performance.now();
    expect(await child.stop(300)).toBe(137);
    expect(performance.now() - began).toBeGreaterThanOrEqual(250);
    expect(isRunning(child.pid)).toBe(false);
  });

  test("kill reaches the processes the child started (its whole group)", async () => {
    const { child } = run(
      `const g = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1000)"]); console.log("grandchild " + g.pid); setInterval(() => {}, 1000)`,
    );
    const grandchild = Number((await child.waitForLine(/^grandchild (\d+)$/, 10_000))[1]);
    expect(isRunning(grandchild)).toBe(true);
    child.kill();
    expect(await child.exited).toBe(137);
    await waitFor(() => !isRunning(grandchild), "the grandchild to die", 10_000);
    expect(isRunning(grandchild)).toBe(false);
  });
});
