// `email-send callers add|list|remove|rotate`: the command-line face of ./callers.ts, one tool of the
// runtime per action. Every word is checked in the settings, before the database is touched, so a bad
// one is a usage error (exit 2) with nothing written. Tokens go to stdout (shown once); what happened
// goes to the log on stderr, at info by default (an operator running a command wants to see it).
import { loggingSettings, metricsSettings } from "../core/config.ts";
import { InvalidInputError, UsageError } from "../core/errors.ts";
import type { commonArgs, databaseArgs, SettingsInput, ToolContext } from "../runtime/tool-spec.ts";
import { databaseSettings } from "../runtime/tool-settings.ts";
import { addCaller, CallerExistsError, callerName, listCallers, parseRate, removeCaller, rotateCaller, ROTATION_GRACE_MS, type Rate } from "./callers.ts";
import { emailDatabaseUrl } from "./config.ts";

type Input = SettingsInput<typeof commonArgs & typeof databaseArgs> & {
  flags: { name?: string | undefined; rate?: string | undefined; recipientRate?: string | undefined };
};

/** A word refused by the callers rules (a bad name or rate) is a usage error. */
function word<T>(label: string, value: unknown, parse: (text: string) => T): T {
  if (Array.isArray(value)) throw new UsageError(`${label} given twice`);
  try {
    return parse(String(value));
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(`${label}: ${error.message}`);
    throw error;
  }
}

export function callersCommandSettings(input: Input) {
  const { flags, env } = input;
  if (input.extra.length > 0) throw new UsageError(`unexpected word: ${input.extra[0]!.slice(0, 64)}`);
  const rate = (key: "rate" | "recipientRate") => (flags[key] === undefined ? undefined : word(input.label(key), flags[key], parseRate));
  return {
    ...(flags.name !== undefined ? { name: word("NAME", flags.name, callerName) } : {}),
    rate: rate("rate"),
    recipientRate: rate("recipientRate"),
    logging: loggingSettings({ verbosity: Math.max(1, input.verbosity), humanLogs: flags.humanLogs }, env),
    metrics: metricsSettings({ metricHost: flags.metricHost, metricPort: flags.metricPort }, env, "email"),
    database: databaseSettings(input, { url: emailDatabaseUrl(env), poolSize: 1 }),
  };
}

type Context = ToolContext<ReturnType<typeof callersCommandSettings>>;

const named = (ctx: Context) => ctx.settings.name!; // the actions that use it declare NAME as required
const shown = (rate: Rate | undefined) => (rate ? `${rate.limit}/${rate.period}` : null);

export async function addCallerCommand(ctx: Context, now: () => number = Date.now): Promise<number> {
  const { rate, recipientRate } = ctx.settings;
  let token: string;
  try {
    token = await addCaller(ctx.sql, { name: named(ctx), ...(rate ? { rate } : {}), ...(recipientRate ? { recipientRate } : {}) }, now());
  } catch (error) {
    if (!(error instanceof CallerExistsError)) throw error;
    ctx.log.error(error.message);
    return 1;
  }
  ctx.out(token);
  ctx.log.info("Caller added", { name: named(ctx), rate: shown(rate), recipientRate: shown(recipientRate) });
  return 0;
}

const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
};

export async function listCallersCommand(ctx: Context, now: () => number = Date.now): Promise<number> {
  const callers = await listCallers(ctx.sql, now());
  const rows = [["NAME", "RATE", "RECIPIENT-RATE", "CREATED", "ROTATED", "PREVIOUS-TOKEN-UNTIL"]];
  for (const c of callers) rows.push([c.name, c.rate ?? "-", c.recipientRate ?? "-", c.createdAt, c.rotatedAt ?? "-", c.previousTokenUntil ?? "-"]);
  for (const line of table(rows)) ctx.out(line);
  return 0;
}

export async function removeCallerCommand(ctx: Context): Promise<number> {
  if (!(await removeCaller(ctx.sql, named(ctx)))) {
    ctx.log.error(`no caller named ${named(ctx)}`);
    return 1;
  }
  ctx.log.info("Caller removed", { name: named(ctx) });
  return 0;
}

export async function rotateCallerCommand(ctx: Context, now: () => number = Date.now): Promise<number> {
  const token = await rotateCaller(ctx.sql, named(ctx), now());
  if (token === undefined) {
    ctx.log.error(`no caller named ${named(ctx)}`);
    return 1;
  }
  ctx.out(token);
  ctx.log.info("Caller token rotated", { name: named(ctx), previousTokenValidMs: ROTATION_GRACE_MS });
  return 0;
}
