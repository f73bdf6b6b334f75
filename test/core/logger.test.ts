import { describe, expect, test } from "bun:test";
import { createLogger, levelFromVerbosity } from "../../src/core/logger.ts";

describe("logger", () => {
  test("writes mozlog JSON lines with fields", () => {
    const lines: string[] = [];
    const log = createLogger({ name: "process-account-events", level: "info", format: "json", write: (l) => lines.push(l) });
    log.info("Processing account delete for 'a@b'", { messageId: "m1", uid: 5n });
    log.debug("hidden at info");
    expect(lines.length).toBe(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      Logger: "process-account-events",
      Type: "process-account-events",
      Severity: 6,
      Pid: process.pid,
      EnvVersion: "2.0",
      Fields: { msg: "Processing account delete for 'a@b'", messageId: "m1", uid: "5" },
    });
    expect(typeof entry.Timestamp).toBe("number");
  });

  test("human format is LEVEL padded, colon, message", () => {
    const lines: string[] = [];
    const log = createLogger({ name: "x", level: "debug", format: "pretty", write: (l) => lines.push(l) });
    log.info("Purging old user records");
    log.warn("Dropping unknown event type 'party'", { messageId: "m" });
    expect(lines).toEqual(["INFO    : Purging old user records", "WARNING : Dropping unknown event type 'party' messageId=m"]);
  });

  test("errors keep their stack in the fields", () => {
    const lines: string[] = [];
    const log = createLogger({ name: "x", level: "warn", format: "json", write: (l) => lines.push(l) });
    log.error("failed", { error: new Error("boom") });
    expect(JSON.parse(lines[0]!).Fields.error).toContain("Error: boom");
    expect(JSON.parse(lines[0]!).Severity).toBe(3);
  });

  test("verbosity follows the originals: none → warn, -v → info, -vv → debug; LOG_LEVEL wins", () => {
    expect(levelFromVerbosity(0)).toBe("warn");
    expect(levelFromVerbosity(1)).toBe("info");
    expect(levelFromVerbosity(3)).toBe("debug");
    expect(levelFromVerbosity(2, "error")).toBe("error");
  });
});

describe("logger bigint handling", () => {
  test("bigints nested inside fields are written as strings", () => {
    const lines: string[] = [];
    const log = createLogger({ name: "x", level: "info", format: "json", write: (l) => lines.push(l) });
    log.info("nested", { row: { uid: 9223372036854775807n } });
    expect(JSON.parse(lines[0]!).Fields.row.uid).toBe("9223372036854775807");
  });
});
