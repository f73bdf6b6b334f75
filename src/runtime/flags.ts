// The command line: -v counting, both spellings of every option, typed camelCase flags from the args
// definition, and the label of a flag for error messages.
import { parseArgs, type ArgDef, type ArgsDef, type ParsedArgs } from "citty";
import { UsageError } from "../core/errors.ts";
import type { FlagValues } from "./tool-spec.ts";
import { stripAnsi } from "./usage.ts";

const camelCase = (name: string) => name.replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Counts -v / -vv / --verbose and removes them, since citty has no counting flags. */
export function takeVerbosity(rawArgs: readonly string[]): { verbosity: number; rest: string[] } {
  let verbosity = 0;
  const rest: string[] = [];
  for (const arg of rawArgs) {
    if (arg === "--verbose") verbosity += 1;
    else if (/^-v+$/.test(arg)) verbosity += arg.length - 1;
    else rest.push(arg);
  }
  return { verbosity, rest };
}

const aliasesOf = (def: ArgDef) => ("alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : []);

const spellingKey = (name: string) => name.replaceAll("_", "-");

/**
 * Rewrites each option to its declared spelling, so `--human-logs` reaches `human_logs` and
 * `--max_per_loop` reaches `max-per-loop` (the originals mix both); an undeclared option is a UsageError.
 */
function canonicalOptions(rawArgs: readonly string[], args: ArgsDef): string[] {
  const declared = new Map<string, string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    for (const n of [name, ...aliasesOf(def)]) declared.set(spellingKey(n), n);
  }
  const out: string[] = [];
  let optionsEnded = false;
  for (const arg of rawArgs) {
    if (optionsEnded || arg === "--" || !arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      optionsEnded ||= arg === "--";
      out.push(arg);
      continue;
    }
    const [flag, ...value] = arg.split("=");
    const dashes = flag!.startsWith("--") ? "--" : "-";
    let name = flag!.slice(dashes.length);
    const negated = name.startsWith("no-") && !declared.has(spellingKey(name));
    if (negated) name = name.slice(3);
    const spelled = declared.get(spellingKey(name));
    if (spelled === undefined) throw new UsageError(`no such option: ${flag}`);
    out.push(`${dashes}${negated ? "no-" : ""}${spelled}${value.length ? "=" + value.join("=") : ""}`);
  }
  return out;
}

/** An option that takes a value, given twice, is ambiguous (`--rate 1/day --rate 2/day`): a UsageError. */
function refuseRepeatedValues(canonical: readonly string[], args: ArgsDef): void {
  const seen = new Set<string>();
  for (const arg of canonical) {
    if (arg === "--") break;
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    const def = name === undefined ? undefined : args[name];
    if (!def || def.type !== "string") continue;
    if (seen.has(name!)) throw new UsageError(`--${name} given twice`);
    seen.add(name!);
  }
}

/** Parses the command line into typed flags; a bad command line is a UsageError. */
export function parseFlags<A extends ArgsDef>(args: A, rawArgs: readonly string[]): { flags: FlagValues<A>; extra: string[] } {
  const canonical = canonicalOptions(rawArgs, args);
  refuseRepeatedValues(canonical, args);
  let parsed: ParsedArgs<A>;
  try {
    parsed = parseArgs(canonical, args) as ParsedArgs<A>;
  } catch (error) {
    throw new UsageError(stripAnsi((error as Error).message));
  }
  const flags: Record<string, unknown> = {};
  for (const name of Object.keys(args)) flags[camelCase(name)] = parsed[name];
  const declaredPositionals = Object.values(args).filter((d) => d.type === "positional").length;
  return { flags: flags as FlagValues<A>, extra: parsed._.slice(declaredPositionals) };
}

export function flagLabel(args: ArgsDef, flag: string): string {
  for (const [name, def] of Object.entries(args)) {
    if (camelCase(name) === flag) return def.type === "positional" ? name.toUpperCase() : `--${name}`;
  }
  return flag;
}
