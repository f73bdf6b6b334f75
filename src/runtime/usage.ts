// `--help` text, written from the args definition. Our own renderer rather than citty's so that each flag
// is shown as operators type it (`--max-per-loop N`, not `--max-per-loop=<max_per_loop>`) and the text
// carries no colour escapes unless a person is reading it on a terminal (NO_COLOR turns them off too).
import type { ArgDef, ArgsDef } from "citty";

export interface UsageMeta {
  name: string;
  description: string;
  version: string;
}

export interface UsageStyle {
  color: boolean;
}

/** Colour only for a terminal, and never when NO_COLOR is set to anything (https://no-color.org). */
export function usageStyle(isTerminal: boolean, env: Record<string, string | undefined>): UsageStyle {
  return { color: isTerminal && !env.NO_COLOR && env.TERM !== "dumb" };
}

const ANSI = /\x1b\[[0-9;]*m/g;
export const stripAnsi = (text: string) => text.replace(ANSI, "");

function optionLabel(name: string, def: ArgDef): string {
  const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
  const short = aliases.filter((a) => a.length === 1).map((a) => `-${a}, `).join("");
  const value = def.type === "boolean" ? "" : ` ${def.valueHint ?? "VALUE"}`;
  return `${short}--${name}${value}`;
}

export function renderUsage(meta: UsageMeta, args: ArgsDef, style: UsageStyle, subCommands: Record<string, string> = {}): string {
  const paint = (code: number, reset: number) => (text: string) => (style.color ? `\x1b[${code}m${text}\x1b[${reset}m` : text);
  const heading = paint(1, 22);
  const flag = paint(36, 39);
  const dim = paint(90, 39);
  const entries = Object.entries(args) as [string, ArgDef][];
  const positionals = entries.filter(([, d]) => d.type === "positional");
  const options = entries.filter(([, d]) => d.type !== "positional");
  const positionalText = positionals.map(([n, d]) => (d.required === false ? `[${n.toUpperCase()}]` : n.toUpperCase())).join(" ");
  const lines = [
    `${meta.description} (${meta.name} v${meta.version})`,
    "",
    `${heading("USAGE")} ${meta.name}${Object.keys(subCommands).length ? " [COMMAND]" : ""} [OPTIONS]${positionalText ? " " + positionalText : ""}`,
  ];
  const table = (title: string, rows: [string, string][]) => {
    if (rows.length === 0) return;
    const width = Math.max(...rows.map(([left]) => left.length));
    lines.push("", heading(title), "");
    for (const [left, right] of rows) lines.push(`  ${flag(left.padEnd(width))}  ${right}`);
  };
  table("ARGUMENTS", positionals.map(([n, d]) => [n.toUpperCase(), d.description ?? ""]));
  table(
    "OPTIONS",
    options.map(([n, d]) => [optionLabel(n, d), `${d.description ?? ""}${"default" in d && d.default !== undefined ? dim(` (default: ${d.default})`) : ""}`]),
  );
  table("COMMANDS", Object.entries(subCommands));
  lines.push("", `Use ${meta.name} --version for the version.`);
  return lines.join("\n") + "\n";
}
