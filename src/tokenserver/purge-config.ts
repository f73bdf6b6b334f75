// Settings of purge-old-records, from its flags and the environment. Option names, spellings and
// defaults (in cmd/purge-old-records.ts) are the original's; the additions are --secret-file/PURGE_SECRET,
// --max-retries, --concurrency, --max-runtime and --ledger.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { intText, parseSettings } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import type { commonArgs, databaseArgs, SettingsInput } from "../runtime/tool-spec.ts";
import { commonSettings, databaseSettings } from "../runtime/tool-settings.ts";
import { tokenserverDbSettings } from "./config.ts";

/** The flags this reads, besides the common and database ones. */
export interface PurgeFlags {
  secret: string | undefined;
  secretFile: string | undefined;
  purgeInterval: string;
  gracePeriod: string;
  maxPerLoop: string;
  maxOffset: string;
  maxRecords: string;
  requestTimeout: string;
  maxRetries: string;
  concurrency: string;
  maxRuntime: string | undefined;
  oneshot: boolean | undefined;
  dryrun: boolean | undefined;
  force: boolean | undefined;
  ledger: boolean | undefined;
  overrideNode: string | undefined;
  rangeStart: string | undefined;
  rangeEnd: string | undefined;
}

type Input = SettingsInput<typeof commonArgs & typeof databaseArgs> & { flags: PurgeFlags };

/** The secret: the last positional argument (as the original), else --secret-file, else PURGE_SECRET. */
function readSecret(input: Input): string {
  const { flags, env } = input;
  const positional = input.extra.at(-1) ?? flags.secret;
  if (positional) return positional;
  if (flags.secretFile) {
    try {
      return readFileSync(flags.secretFile, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      throw new UsageError(`${input.label("secretFile")}: cannot read ${flags.secretFile}: ${(error as Error).message}`);
    }
  }
  if (env.PURGE_SECRET) return env.PURGE_SECRET;
  throw new UsageError("a SECRET is required (argument, --secret-file or PURGE_SECRET)");
}

const uidBound = z
  .string()
  .regex(/^\d+$/, "must be a uid (digits)")
  .optional();

const NUMBERS = {
  purgeInterval: intText({ min: 0 }),
  gracePeriod: intText(),
  maxPerLoop: intText({ min: 1, max: 100_000 }),
  maxOffset: intText({ min: 0 }),
  maxRecords: intText({ min: 0 }),
  requestTimeout: intText({ min: 1 }),
  maxRetries: intText({ min: 1, max: 100 }),
  concurrency: intText({ min: 1, max: 1_000 }),
  maxRuntime: intText({ min: 1 }).optional(),
  rangeStart: uidBound,
  rangeEnd: uidBound,
};

export function purgeSettings(input: Input) {
  const { flags, env } = input;
  const raw = Object.fromEntries(Object.keys(NUMBERS).map((key) => [key, flags[key as keyof typeof NUMBERS] || undefined]));
  const labels = Object.fromEntries(Object.keys(NUMBERS).map((key) => [key, input.label(key)]));
  const { rangeStart, rangeEnd, ...numbers } = parseSettings(z.object(NUMBERS), raw, labels);
  const db = tokenserverDbSettings(env);
  return {
    ...numbers,
    secret: readSecret(input),
    oneshot: Boolean(flags.oneshot),
    dryrun: Boolean(flags.dryrun),
    force: Boolean(flags.force),
    ledger: Boolean(flags.ledger),
    overrideNode: flags.overrideNode || undefined,
    uidRange: rangeStart || rangeEnd ? ([rangeStart, rangeEnd] as const) : null,
    db,
    ...commonSettings(input, "tokenserver"),
    // Storage deletes run per node; database work is short statements, so a small pool is enough.
    database: databaseSettings(input, { url: db.databaseUrl, poolSize: Math.max(4, Math.ceil(numbers.concurrency / 2)) + 1 }),
  };
}

export type PurgeSettings = ReturnType<typeof purgeSettings>;
