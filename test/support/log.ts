// A real logger whose lines are kept for assertions.
import { createLogger, type Logger, type LogLevelName } from "../../src/core/logger.ts";

export interface CapturedLog {
  log: Logger;
  lines: { severity: number; msg: string; fields: Record<string, unknown> }[];
  messages(): string[];
  clear(): void;
}

export function captureLog(level: LogLevelName = "debug"): CapturedLog {
  const lines: CapturedLog["lines"] = [];
  const log = createLogger({
    name: "test",
    level,
    format: "json",
    write: (line) => {
      const parsed = JSON.parse(line);
      lines.push({ severity: parsed.Severity, msg: parsed.Fields.msg, fields: parsed.Fields });
    },
  });
  return { log, lines, messages: () => lines.map((l) => l.msg), clear: () => void lines.splice(0) };
}
