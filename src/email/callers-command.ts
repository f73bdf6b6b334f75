// `email-send callers add|list|remove|rotate`: the command-line face of ./callers.ts. Every word is
// checked before the database is touched, so a bad one is a usage error (exit 2) with nothing written.
// Tokens go to stdout (shown once); what happened goes to the log on stderr.
import { InvalidInputError, UsageError } from "../core/errors.ts";
import type { CommandContext } from "../runtime/tool-spec.ts";
import { addCaller, CallerExistsError, callerName, listCallers, parseRate, removeCaller, rotateCaller, ROTATION_GRACE_MS, type Rate } from "./callers.ts";

type Parsed =
  | { action: "add"; name: string; rate?: Rate; recipientRate?: Rate }
  | { action: "list" }
  | { action: "remove" | "rotate"; name: string };

/** The command's words, validated; a UsageError for anything else. */
export function parseCallersArgs(args: readonly string[]): Parsed {
  const words: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      words.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const key = flag.slice(2).replaceAll("_", "-");
    if (key !== "rate" && key !== "recipient-rate") throw new UsageError(`no such option: ${flag.slice(0, 64)}`);
    if (options.has(key)) throw new UsageError(`--${key} given twice`);
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`--${key} needs a value N/PERIOD`);
    options.set(key, value);
  }
  const [action, ...rest] = words;
  const expect = (count: number, form: string) => {
    if (rest.length !== count) throw new UsageError(`usage: email-send callers ${form}`);
  };
  try {
    switch (action) {
      case "add": {
        expect(1, "add NAME [--rate N/PERIOD] [--recipient-rate N/PERIOD]");
        const rate = options.get("rate");
        const recipientRate = options.get("recipient-rate");
        return {
          action,
          name: callerName(rest[0]!),
          ...(rate !== undefined ? { rate: parseRate(rate) } : {}),
          ...(recipientRate !== undefined ? { recipientRate: parseRate(recipientRate) } : {}),
        };
      }
      case "list":
      case "remove":
      case "rotate":
        if (options.size > 0) throw new UsageError(`callers ${action} takes no options`);
        if (action === "list") {
          expect(0, "list");
          return { action };
        }
        expect(1, `${action} NAME`);
        return { action, name: callerName(rest[0]!) };
      default:
        throw new UsageError(action === undefined ? "callers needs an action: add, list, remove or rotate" : `no such callers action: ${action.slice(0, 64)} (add, list, remove or rotate)`);
    }
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(error.message);
    throw error;
  }
}

const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
};

export async function runCallersCommand(ctx: CommandContext, now: () => number = Date.now): Promise<number> {
  const parsed = parseCallersArgs(ctx.args);
  const sql = ctx.sql!;
  switch (parsed.action) {
    case "add": {
      let token: string;
      try {
        token = await addCaller(sql, parsed, now());
      } catch (error) {
        if (!(error instanceof CallerExistsError)) throw error;
        ctx.log.error(error.message);
        return 1;
      }
      ctx.out(token);
      ctx.log.info("Caller added", { name: parsed.name, rate: options(parsed.rate), recipientRate: options(parsed.recipientRate) });
      return 0;
    }
    case "list": {
      const callers = await listCallers(sql, now());
      const rows = [["NAME", "RATE", "RECIPIENT-RATE", "CREATED", "ROTATED", "PREVIOUS-TOKEN-UNTIL"]];
      for (const c of callers) rows.push([c.name, c.rate ?? "-", c.recipientRate ?? "-", c.createdAt, c.rotatedAt ?? "-", c.previousTokenUntil ?? "-"]);
      for (const line of table(rows)) ctx.out(line);
      return 0;
    }
    case "remove":
      if (!(await removeCaller(sql, parsed.name))) {
        ctx.log.error(`no caller named ${parsed.name}`);
        return 1;
      }
      ctx.log.info("Caller removed", { name: parsed.name });
      return 0;
    case "rotate": {
      const token = await rotateCaller(sql, parsed.name, now());
      if (token === undefined) {
        ctx.log.error(`no caller named ${parsed.name}`);
        return 1;
      }
      ctx.out(token);
      ctx.log.info("Caller token rotated", { name: parsed.name, previousTokenValidMs: ROTATION_GRACE_MS });
      return 0;
    }
  }
}

const options = (rate: Rate | undefined) => (rate ? `${rate.limit}/${rate.period}` : null);
