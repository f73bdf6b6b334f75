// `make dev` as a user runs it (bun dev/main.ts): the summary once everything answers, the state file
// that `make event` and `make demo` find it by, then Ctrl-C: the first stops everything in order and
// exits 0, a second one in a row stops at once (130); either way no process and no state file is left.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createSql } from "../../src/db/client.ts";
import { selectUserRecords } from "../../src/tokenserver/queries.ts";
import { createTokenserverRepository } from "../../src/tokenserver/repository.ts";
import { readState, type StackState } from "../../dev/state.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { isRunning } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

const root = resolve(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "dev-stack-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  lines: string[];
  stateFile: string;
  state: StackState;
}

/** Starts bun dev/main.ts and waits for its summary. */
async function makeDev(name: string): Promise<Running> {
  const { url } = await createTestDatabase({ max: 1 });
  const stateFile = join(dir, `${name}.json`);
  const proc = Bun.spawn([process.execPath, "dev/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url, DEV_STATE_FILE: stateFile },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  void (async () => {
    let buffered = "";
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buffered += new TextDecoder().decode(chunk);
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts);
    }
  })();
  await waitFor(() => lines.some((l) => l.startsWith("Ctrl-C stops everything")) || proc.exitCode !== null, "the stack's summary", 90_000);
  const state = readState(stateFile);
  if (!state) throw new Error(`make dev did not come up:\n${lines.join("\n")}`);
  return { proc, lines, stateFile, state };
}

/** Runs a command to its end without blocking this process (which reads the stack's output meanwhile). */
async function run(argv: string[], env: Record<string, string | undefined>) {
  const proc = Bun.spawn(argv, { cwd: root, env: { PATH: process.env.PATH, ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

const toolPids = (state: StackState) => Object.values(state.tools).map((t) => Number(t.pid));

describe("make dev", () => {
  test("prints what runs where, is found by make event and make demo, and stops in order on Ctrl-C", async () => {
    const dev = await makeDev("orderly");
    expect(dev.state.pid).toBe(dev.proc.pid);
    expect(statSync(dev.stateFile).mode & 0o777).toBe(0o600); // it holds the stack's secrets
    const email = dev.state.tools["email-send"]!;
    expect(dev.lines.some((l) => l.includes(`curl -sS -H 'Authorization: Bearer ${email.token}'`) && l.endsWith(`${email.url}/send`))).toBe(true);
    expect(dev.lines.some((l) => l.includes(dev.state.sqs.queues["account-events"]!))).toBe(true);

    // make event: a passwordChange for a user on the stack's storage node moves its generation.
    const sql = createSql(dev.state.database.url, { max: 1 });
    const repo = createTokenserverRepository(sql);
    const user = await repo.allocateUser("someone@api.accounts.firefox.com", { generation: 5n, node: dev.state.storage.url });
    const event = await run([process.execPath, "dev/send-event.ts", "passwordChange", user.email, "1000"], { DEV_STATE_FILE: dev.stateFile });
    expect(event.exitCode).toBe(0);
    expect(event.stdout).toContain("passwordChange for someone@api.accounts.firefox.com (generation 1000) is on the account-events queue");
    const generation = async () => (await selectUserRecords(sql, await repo.serviceId(), user.email))[0]?.generation;
    await waitFor(async () => (await generation()) === 999n, "process-account-events to apply the event");
    await sql.end();

    // make demo: finds the running stack through the state file.
    const demo = await run([process.execPath, "dev/demo.ts"], { DEV_STATE_FILE: dev.stateFile });
    const report = demo.stdout;
    expect(report).toContain(`demo: against the running dev stack (pid ${dev.state.pid})`);
    expect(report).toMatch(/demo held: 15 of 15 steps passed in/);
    expect(demo.exitCode).toBe(0);

    dev.proc.kill("SIGINT");
    expect(await dev.proc.exited).toBe(0);
    const at = (line: string) => dev.lines.indexOf(`[stack] ${line}`);
    expect(at("stopped tools")).toBeGreaterThan(at("email-send exited 0"));
    expect(at("stopped database")).toBeGreaterThan(at("stopped sqs"));
    expect(dev.lines.at(-1)).toBe("[stack] stopped; nothing left running");
    expect(existsSync(dev.stateFile)).toBe(false);
    for (const pid of toolPids(dev.state)) expect(isRunning(pid)).toBe(false);
  });

  test("a second Ctrl-C stops at once, and still leaves nothing behind", async () => {
    const dev = await makeDev("at-once");
    dev.proc.kill("SIGINT");
    await waitFor(() => dev.lines.some((l) => l.startsWith("[stack] stopping:")), "the orderly stop to begin");
    dev.proc.kill("SIGINT");
    expect(await dev.proc.exited).toBe(130);
    expect(dev.lines).toContain("[stack] stopping at once");
    expect(existsSync(dev.stateFile)).toBe(false);
    await waitFor(() => toolPids(dev.state).every((pid) => !isRunning(pid)), "every tool to be gone", 10_000);
  });

  test("make event without a running stack says so, also when a stale state file names a live pid", async () => {
    const event = await run([process.execPath, "dev/send-event.ts", "delete", "a@b.c"], { DEV_STATE_FILE: join(dir, "none.json") });
    expect(event.exitCode).toBe(1);
    expect(event.stderr).toContain("no running dev stack");
    // Our own pid is alive, but nothing answers at the file's inspection API: another process has the pid.
    const stale = join(dir, "stale.json");
    writeFileSync(stale, JSON.stringify({ pid: process.pid, control: "http://127.0.0.1:9", sqs: { queues: {} } }));
    const again = await run([process.execPath, "dev/send-event.ts", "delete", "a@b.c"], { DEV_STATE_FILE: stale });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("no running dev stack");
  });
});
