// dist/fxa-ops, the one executable holding every tool, built once with the production flags: as
// `fxa-ops <tool>` and through a symlink named after the tool it answers exactly as that tool does
// (--help, flags, environment, exit codes, a real run and its SIGTERM stop); without a known tool it
// lists the tools or exits 2.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { TOOLS, pickTool } from "../../cmd/all/fxa-ops.ts";
import { runTool } from "../../src/runtime/tool.ts";
import type { ToolIO } from "../../src/runtime/tool-spec.ts";
import { compiledFxaOps } from "../support/compiled.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";

const root = resolve(import.meta.dir, "../..");
const bin = compiledFxaOps();
const links = mkdtempSync(join(tmpdir(), "fxa-ops-links-"));
afterAll(() => rmSync(links, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1" };

function run(command: string[], extraEnv: Record<string, string> = {}) {
  const result = Bun.spawnSync(command, { env: { ...env, ...extraEnv }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}

/** What the tool's own entry prints for `args`, run in-process through the same runtime. */
async function ownOutput(name: string, args: string[]): Promise<string> {
  let out = "";
  const io: ToolIO = { out: (t) => void (out += t), err: () => {}, env, isTerminal: false, onSignal: () => () => {}, exit: () => {} };
  await runTool(await TOOLS[name]!(), args, io);
  return out;
}

test("it holds every tool in cmd/ and nothing else", () => {
  const tools = readdirSync(join(root, "cmd")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3));
  expect(Object.keys(TOOLS).sort()).toEqual(tools.sort());
});

test("the invoked name picks the tool when it is one, else the first word does", () => {
  expect(pickTool("/usr/local/bin/email-send", ["--port", "1"])).toEqual({ name: "email-send", args: ["--port", "1"] });
  expect(pickTool("/app", ["email-send", "--port", "1"])).toEqual({ name: "email-send", args: ["--port", "1"] });
  expect(pickTool("fxa-ops", ["--help"])).toBeUndefined();
  expect(pickTool("fxa-ops", ["toString"])).toBeUndefined();
});

test("fxa-ops --help lists every tool with its description; --version prints the version", async () => {
  const help = run([bin, "--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("USAGE fxa-ops");
  for (const [name, load] of Object.entries(TOOLS)) expect(help.out).toContain(`${name.padEnd(24)}${(await load()).meta.description}`);
  expect(run([bin, "--version"]).out).toBe(`${(await import("../../package.json")).version}\n`);
});

test("fxa-ops <tool> --help and a symlink named after the tool print that tool's own --help", async () => {
  for (const name of Object.keys(TOOLS)) {
    symlinkSync(bin, join(links, name));
    const own = await ownOutput(name, ["--help"]);
    expect(own).toContain(`USAGE ${name}`);
    expect(run([bin, name, "--help"])).toEqual({ code: 0, out: own, err: "" });
    expect(run([join(links, name), "--help"])).toEqual({ code: 0, out: own, err: "" });
  }
  // A command of a tool, through the symlink.
  expect(run([join(links, "email-send"), "callers", "--help"]).out).toBe(await ownOutput("email-send", ["callers", "--help"]));
});

test("an unknown tool, or none, is a usage error (exit 2) with the tool list on stderr", () => {
  const unknown = run([bin, "no-such-tool", "--help"]);
  expect(unknown.code).toBe(2);
  expect(unknown.out).toBe("");
  expect(unknown.err).toContain("process-account-events");
  expect(unknown.err).toEndWith("error: no such tool: no-such-tool\n");
  const none = run([bin]);
  expect(none.code).toBe(2);
  expect(none.err).toEndWith("error: a tool is required\n");
});

test("exit codes and the environment pass through: a bad flag exits 2, an unreachable database 1", () => {
  const viaLink = join(links, "purge-old-records");
  for (const command of [[bin, "purge-old-records", "--bogus"], [viaLink, "--bogus"]]) {
    const bad = run(command);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.err).Fields.msg).toBe("purge-old-records: no such option: --bogus (see purge-old-records --help)");
  }
  const unreachable = run([bin, "process-account-events", "migrate"], { SYNC_TOKENSERVER__DATABASE_URL: "postgres://u@127.0.0.1:1/x" });
  expect(unreachable.code).toBe(1);
  expect(JSON.parse(unreachable.err).Fields.msg).toContain("cannot reach the database at postgres://u@127.0.0.1:1/x");
});

test("through its symlink, email-send migrates a database, serves /send and exits 0 on SIGTERM", async () => {
  const db = await createTestDatabase({ max: 1 });
  const toolEnv = { DATABASE_URL: db.url, FXA_EMAIL_HMACKEY: "fxa-ops test key", FXA_EMAIL_PROVIDER_DEFAULT: "mock" };
  const emailSend = join(links, "email-send");
  const migrate = run([emailSend, "migrate"], toolEnv);
  expect(migrate.code).toBe(0);
  expect(migrate.out).toContain("email applied:");

  const child = Bun.spawn([emailSend, "--port", "0", "--host", "127.0.0.1"], { env: { ...env, ...toolEnv }, stdout: "pipe", stderr: "pipe" });
  const lines: Record<string, any>[] = [];
  const pump = (async () => {
    let buffered = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
        lines.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
      }
    }
  })();
  await waitFor(() => lines.some((l) => l.Fields.msg === "Listening") || child.exitCode !== null, "the Listening line");
  const port = lines.find((l) => l.Fields.msg === "Listening")?.Fields.port;
  expect(port).toBeNumber();
  const res = await fetch(`http://127.0.0.1:${port}/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ to: "someone@example.com", subject: "s", body: { text: "t" } }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { messageId: string }).messageId).toStartWith("mock:");
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  await pump;
  expect(lines.map((l) => l.Fields.msg)).toContain("Received SIGTERM; finishing in-flight requests");
  expect(lines.every((l) => l.Logger === "email-send")).toBe(true);
});
