// A real logger whose lines are kept for assertions.
import { createLogger, type Logger, type LogLevelName } from "../../src/core/logger.ts";

export interface CapturedLog {
  log: Logger;
  lines: { severity: number; msg: string; fields: Record<string, unknown> }[];
  messages(): string[];
  clear(): void;
}

/** `onLine` runs synchronously as each line is written (to act at an exact point of a run). */
export function captureLog(level: LogLevelName = "debug", onLine?: (msg: string) => void): CapturedLog {
  const lines: CapturedLog["lines"] = [];
  const log = createLogger({
    name: "test",
    level,
    format: "json",
    write: (line) => {
      const parsed = JSON.parse(line);
      lines.push({ severity: parsed.Severity, msg: parsed.Fields.msg, fields: parsed.Fields });
      onLine?.(parsed.Fields.msg);
    },
  });
  return { log, lines, messages: () => lines.map((l) => l.msg), clear: () => void lines.splice(0) };
}
