// Where the email service's settings come from, lowest precedence first (spec/email.md §8.1, plus ours):
//   1. the built-in defaults, which stand in for the original's config/default.json;
//   2. config/<env>.json and 3. config/local.json in the working directory, each optional;
//   4. the JSON file named by FXA_EMAIL_CONFIG (required when named);
//   5. the FXA_EMAIL_* variables: path segments joined by "_" (FXA_EMAIL_AWS_KEYS_ACCESS → aws.keys.access),
//      empty values ignored;
//   6. the command line.
// Objects merge key by key; a list replaces the list below it. A bad value is a UsageError naming where it
// came from: the flag, the variable, or `key (in <file>)`; a file that cannot be read or is not a JSON
// object is a UsageError naming the file.
//
// <env> is settled like any other key, by the highest of 3–6 that sets `env`, default dev. The original
// took it from FXA_EMAIL_ENV alone, so a local.json saying "production" ran with config/dev.json and
// production's checks; here the file read always matches the environment in force. config/<env>.json
// itself may not change it.
//
// email-send and the coming email-queues both read their settings through readEmailConfig.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import { fields, masked } from "./config-shape.ts";
import { EMAIL_CONFIG_DEFAULTS, emailConfigSchema, environmentSchema, PLACEHOLDER_HMAC_KEY, RETIRED_KEYS, type EmailConfigValues, type Environment } from "./config-schema.ts";

export interface EmailConfigOptions {
  /** Where config/<env>.json and config/local.json are looked for (default: the working directory). */
  cwd?: string;
  readFile?: (file: string) => string;
  exists?: (file: string) => boolean;
  /** Values from the command line, the highest precedence: `{ path: "port", value: "8002", flag: "--port" }`. */
  commandLine?: readonly { path: string; value: unknown; flag: string }[];
  /** Named in the notice about an FXA_EMAIL_ variable that is not a setting (default email-send). */
  tool?: string;
}

export interface EmailConfig {
  values: EmailConfigValues;
  /** The startup line's copy: secrets hidden, plus `config` (FXA_EMAIL_CONFIG) and `files` (read, in order). */
  masked: Record<string, unknown>;
  /** The files read, lowest precedence first. */
  files: string[];
  /** Keys that were given but are not used, with the reason (logged as warnings at start). */
  notices: string[];
}

type Tree = Record<string, unknown>;
type Path = readonly PropertyKey[];

/** One source: its keys, how to name a key that came from it, and its file if it is one. */
interface Layer {
  tree: Tree;
  label(path: Path): string;
  file?: string;
}

const FIELDS = fields(emailConfigSchema);
const dotted = (path: Path) => path.map(String).join(".");
/** Keys a variable can set: every field but the lists. */
const SETTABLE = new Set(FIELDS.filter((f) => !f.list).map((f) => dotted(f.path)));
const LISTS = new Set(FIELDS.filter((f) => f.list).map((f) => dotted(f.path)));
/** Keys a file can hold: every field and the objects around them. */
const FILE_KEYS = new Set(FIELDS.flatMap((f) => f.path.map((_, i) => dotted(f.path.slice(0, i + 1)))));

const variableName = (path: Path) => `FXA_EMAIL_${path.map(String).join("_").toUpperCase()}`;

export function readEmailConfig(env: Env, options: EmailConfigOptions = {}): EmailConfig {
  const cwd = options.cwd ?? process.cwd();
  const read = options.readFile ?? ((file: string) => readFileSync(file, "utf8"));
  const exists = options.exists ?? existsSync;
  const tool = options.tool ?? "email-send";
  const notices: string[] = [];

  const fileLayer = (file: string, required: boolean): Layer | undefined => {
    if (!required && !exists(file)) return undefined;
    const tree = parseFile(file, read, required ? "FXA_EMAIL_CONFIG: " : "");
    notices.push(...unusedFileKeys(tree, file));
    return { tree, label: (path) => `${dotted(path)} (in ${file})`, file };
  };

  const flagNames = new Map<string, string>();
  const commandLine: Tree = {};
  for (const { path, value, flag } of options.commandLine ?? []) {
    setPath(commandLine, path.split("."), value);
    flagNames.set(path, flag);
  }
  const flags: Layer = { tree: commandLine, label: (path) => flagNames.get(dotted(path)) ?? dotted(path) };
  const variables: Layer = { tree: fromVariables(env, notices, tool), label: variableName };
  const configFile = env.FXA_EMAIL_CONFIG || undefined;
  const named = configFile === undefined ? undefined : fileLayer(configFile, true);
  const local = fileLayer(join(cwd, "config", "local.json"), false);
  const environment = chooseEnvironment([flags, variables, named, local]);
  const envFile = fileLayer(join(cwd, "config", `${environment}.json`), false);
  if (envFile && "env" in envFile.tree && envFile.tree.env !== environment) {
    throw new UsageError(`${envFile.label(["env"])}: the file chosen for env ${environment} cannot change it; set FXA_EMAIL_ENV instead`);
  }

  const sources = [flags, variables, named, local, envFile].filter((l): l is Layer => l !== undefined); // highest first
  // A key no source gave is named by its variable: that is how to change a default or supply a missing key.
  const labelOf = (path: Path) => sources.find((l) => hasPath(l.tree, path))?.label(path) ?? variableName(path);
  const tree = sources.reduceRight<Tree>((below, layer) => merge(below, layer.tree), EMAIL_CONFIG_DEFAULTS);

  const result = emailConfigSchema.safeParse(tree);
  if (!result.success) throw new UsageError(result.error.issues.map((issue) => `${labelOf(issue.path)}: ${issue.message}`).join("; "));
  const values = result.data;
  if (values.env === "production" && values.hmackey === PLACEHOLDER_HMAC_KEY) {
    throw new UsageError(`${labelOf(["hmackey"])}: Please set a valid HMAC key (the placeholder is refused in production)`);
  }
  const files = sources.flatMap((l) => (l.file === undefined ? [] : [l.file])).reverse();
  return {
    values,
    masked: { ...(masked(emailConfigSchema, tree, values) as Tree), config: configFile ?? "[not set]", files },
    files,
    notices,
  };
}

/** `env` from the highest source that sets it, checked before it names a file. */
function chooseEnvironment(highestFirst: readonly (Layer | undefined)[]): Environment {
  const source = highestFirst.find((l) => l !== undefined && "env" in l.tree);
  const parsed = environmentSchema.safeParse(source ? source.tree.env : EMAIL_CONFIG_DEFAULTS.env);
  if (!parsed.success) throw new UsageError(`${source?.label(["env"]) ?? variableName(["env"])}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

function fromVariables(env: Env, notices: string[], tool: string): Tree {
  const tree: Tree = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("FXA_EMAIL_") || name === "FXA_EMAIL_CONFIG" || !value) continue; // empty values are ignored, as in the original
    const path = name.slice("FXA_EMAIL_".length).toLowerCase().split("_");
    const key = path.join(".");
    if (RETIRED_KEYS[key]) notices.push(`${name} is ignored: ${RETIRED_KEYS[key]}`);
    else if (LISTS.has(key)) notices.push(`${name} is ignored: a list can only be set in a config file`);
    else if (!SETTABLE.has(key)) notices.push(`${name} is not a setting of ${tool}; ignored`);
    else setPath(tree, path, value);
  }
  return tree;
}

/** The original's retired keys and keys we do not know, so a typo in a file does not go unseen. */
function unusedFileKeys(tree: Tree, file: string): string[] {
  const notices: string[] = [];
  const visit = (node: Tree, path: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      const at = dotted([...path, key]);
      if (RETIRED_KEYS[at]) notices.push(`${at} (in ${file}) is ignored: ${RETIRED_KEYS[at]}`);
      else if (!FILE_KEYS.has(at) && !Object.keys(RETIRED_KEYS).some((k) => k.startsWith(`${at}.`))) notices.push(`${at} (in ${file}) is not a setting; ignored`);
      else if (isTree(value)) visit(value, [...path, key]);
    }
  };
  visit(tree, []);
  return notices;
}

function parseFile(file: string, read: (file: string) => string, prefix: string): Tree {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    throw new UsageError(`${prefix}cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${prefix}${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isTree(parsed)) throw new UsageError(`${prefix}${file} must contain a JSON object`);
  return parsed;
}

const isTree = (v: unknown): v is Tree => typeof v === "object" && v !== null && !Array.isArray(v);

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path.at(-1)!] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  return out;
}

function hasPath(tree: Tree, path: Path): boolean {
  let node: unknown = tree;
  for (const key of path) {
    if (typeof node !== "object" || node === null || !(String(key) in node)) return false;
    node = (node as Tree)[String(key)];
  }
  return true;
}
