// One consola logger per process. Lines go to stderr (stdout is for data such as --dryrun output):
// mozlog JSON by default, `LEVEL   : message key=value` with --human_logs.
import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import { hostname } from "node:os";

export type Logger = ConsolaInstance;
export type LogLevelName = "error" | "warn" | "info" | "debug";
export type LogFormat = "json" | "pretty";

const CONSOLA_LEVEL: Record<LogLevelName, number> = { error: 0, warn: 1, info: 3, debug: 4 };
// mozlog uses syslog severities.
const SEVERITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, log: 6, info: 6, success: 6, debug: 7, trace: 7 };
const HUMAN_NAME: Record<string, string> = { fatal: "CRITICAL", error: "ERROR", warn: "WARNING", debug: "DEBUG", trace: "DEBUG" };

export interface LoggerOptions {
  name: string;
  level: LogLevelName;
  format: LogFormat;
  /** Where finished lines go; stderr unless a test captures them. */
  write?: (line: string) => void;
}

/** The original tools' rule: no -v → warnings, -v → info, -vv → debug. LOG_LEVEL, when set, wins. */
export function levelFromVerbosity(verbosity: number, override?: LogLevelName): LogLevelName {
  if (override) return override;
  return verbosity <= 0 ? "warn" : verbosity === 1 ? "info" : "debug";
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const render = options.format === "pretty" ? renderHuman : renderMozlog(options.name);
  return createConsola({
    level: CONSOLA_LEVEL[options.level],
    reporters: [{ log: (entry: LogObject) => write(render(entry)) }],
  });
}

/** Splits consola's args into the message and the structured fields (a trailing plain object). */
function messageAndFields(entry: LogObject): { message: string; fields: Record<string, unknown> } {
  const args = [...entry.args];
  let fields: Record<string, unknown> = {};
  const last = args.at(-1);
  if (args.length > 1 && last !== null && typeof last === "object" && !(last instanceof Error)) {
    fields = serializeFields(args.pop() as Record<string, unknown>);
  }
  const message = args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(" ");
  return { message, fields };
}

function serializeFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (value instanceof Error) out[key] = value.stack ?? value.message;
    else if (typeof value === "bigint") out[key] = value.toString();
    else out[key] = value;
  }
  return out;
}

function renderMozlog(name: string) {
  const pid = process.pid;
  const host = hostname();
  return (entry: LogObject): string => {
    const { message, fields } = messageAndFields(entry);
    const line = {
      Timestamp: entry.date.getTime() * 1_000_000,
      Type: entry.tag || name,
      Logger: name,
      Hostname: host,
      EnvVersion: "2.0",
      Severity: SEVERITY[entry.type] ?? 6,
      Pid: pid,
      Fields: { msg: message, ...fields },
    };
    // Top-level bigint fields are already strings; a replacer on every line is costly, so it is only
    // used for the rare line with a bigint nested deeper (JSON.stringify throws a TypeError on those).
    try {
      return JSON.stringify(line);
    } catch {
      return JSON.stringify(line, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
    }
  };
}

function renderHuman(entry: LogObject): string {
  const { message, fields } = messageAndFields(entry);
  const level = (HUMAN_NAME[entry.type] ?? entry.type.toUpperCase()).padEnd(8);
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${level}: ${message}${extra ? " " + extra : ""}`;
}
