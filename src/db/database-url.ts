// The one rule for finding the database, shared by every tool: the first non-empty variable of the
// tool's list names it; only PostgreSQL is supported; the SQLAlchemy-style driver suffix the originals'
// URLs carry (postgresql+psycopg2://) is dropped, since postgres.js is our only driver.
import type { Env } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";

const POSTGRES_URL = /^postgres(ql)?(\+\w+)?:\/\//;

/**
 * The database URL from the first of `names` that is set and not empty. Missing: "A (or B) must be
 * set", followed by `note` in parentheses when given. Not PostgreSQL: an error naming the variable used.
 */
export function databaseUrlFrom(env: Env, names: readonly [string, ...string[]], note?: string): string {
  const name = names.find((n) => env[n]);
  if (name === undefined) {
    const [first, ...others] = names;
    throw new UsageError(`${first}${others.map((n) => ` (or ${n})`).join("")} must be set${note ? ` (${note})` : ""}`);
  }
  const url = env[name]!;
  if (!POSTGRES_URL.test(url)) throw new UsageError(`${name}: only PostgreSQL URLs are supported (got scheme ${url.split(":")[0]})`);
  return normalizeDatabaseUrl(url);
}

/** postgres:// and postgresql:// are the same thing; a driver suffix is not ours to honour. */
export function normalizeDatabaseUrl(url: string): string {
  return url.replace(/^postgres(ql)?\+\w+:/, "postgresql:");
}
