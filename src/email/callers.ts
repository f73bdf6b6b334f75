// Callers of /send (issue 11): who they are, their tokens and their send-rate limits. One module behind
// every face: the `email-send callers ...` command, GET /callers/:name/usage, and the per-request check.
//
// Tokens are `<name>.<secret>`, the secret 32 random bytes in base64url. The name part makes the
// lookup one primary-key read; the table keeps only SHA-256(token). With 256 random bits no key or
// slow hash is needed: a stolen digest cannot be reversed or guessed, and the table does not depend on
// another secret that would have to be rotated with it. Digests are compared with timingSafeEqual.
// A rotation keeps the previous token working for ROTATION_GRACE_MS; rotating again drops it at once.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { InvalidInputError } from "../core/errors.ts";
import type { Sql } from "../db/client.ts";
import { deleteCaller, fetchCallers, fetchCallersNamed, fetchOpenCounters, fetchRecipientCounters, insertCaller, rotateCallerToken, type CallerRow, type CounterRow } from "./caller-store.ts";

/** Short identifiers: what the name column's CHECK allows, and what tokens and log lines can carry. */
export const CALLER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/** The caller the operator token (FXA_EMAIL_AUTH_TOKEN) sends as; a row of that name gives it limits. */
export const OPERATOR_CALLER = "default";
/** Long enough to roll a new token out to every instance of a caller, short enough to end a leak soon. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;
/** Largest N of --rate N/PERIOD (the counters are PostgreSQL integers). */
export const MAX_RATE = 1_000_000_000;

export const RATE_PERIODS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type RatePeriod = keyof typeof RATE_PERIODS;

export interface Rate {
  limit: number;
  period: RatePeriod;
  periodMs: number;
}

/** A caller's name, or an InvalidInputError saying what a name may be. */
export function callerName(text: string): string {
  if (!CALLER_NAME.test(text)) throw new InvalidInputError(`invalid caller name ${JSON.stringify(text.slice(0, 64))}: 1-32 characters a-z, 0-9, _ and -, starting with a letter`);
  return text;
}

/** `N/PERIOD` with N in 1..MAX_RATE and PERIOD second, minute, hour or day (e.g. `10/minute`). */
export function parseRate(text: string): Rate {
  const match = /^([1-9][0-9]{0,9})\/(second|minute|hour|day)$/.exec(text);
  const limit = match ? Number(match[1]) : NaN;
  if (!match || limit > MAX_RATE) throw new InvalidInputError(`invalid rate ${JSON.stringify(text.slice(0, 64))}: N/PERIOD with N from 1 to ${MAX_RATE} and PERIOD second, minute, hour or day`);
  const period = match[2] as RatePeriod;
  return { limit, period, periodMs: RATE_PERIODS[period] };
}

const rateOf = (limit: number | null, periodMs: number | null): Rate | undefined => {
  if (limit === null || periodMs === null) return undefined;
  const period = (Object.keys(RATE_PERIODS) as RatePeriod[]).find((p) => RATE_PERIODS[p] === periodMs);
  return period ? { limit, period, periodMs } : undefined;
};

export const formatRate = (rate: Rate) => `${rate.limit}/${rate.period}`;

export const tokenDigest = (token: string): Buffer => createHash("sha256").update(token).digest();

function newToken(name: string): string {
  return `${name}.${randomBytes(32).toString("base64url")}`;
}

/** The caller name a presented token claims (unverified), or undefined when it is not of our form. */
export function claimedName(token: string): string | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0) return undefined;
  const name = token.slice(0, dot);
  return CALLER_NAME.test(name) ? name : undefined;
}

/** Whether `token` is the caller's current token, or its previous one inside the grace period. */
export function tokenIsValid(caller: CallerRow, token: string, now: number): boolean {
  const presented = tokenDigest(token);
  const current = timingSafeEqual(presented, caller.tokenHash);
  const previous = caller.previousHash !== null && caller.previousUntil !== null && now < caller.previousUntil && timingSafeEqual(presented, caller.previousHash);
  return current || previous;
}

/** What a request's sends are counted against. */
export interface CallerLimits {
  name: string;
  rate?: Rate;
  recipientRate?: Rate;
}

export function limitsOf(caller: CallerRow | undefined, name = caller?.name ?? OPERATOR_CALLER): CallerLimits {
  const rate = caller && rateOf(caller.rateLimit, caller.ratePeriodMs);
  const recipientRate = caller && rateOf(caller.recipientLimit, caller.recipientPeriodMs);
  return { name, ...(rate ? { rate } : {}), ...(recipientRate ? { recipientRate } : {}) };
}

// ---- administration (the CLI and the usage route) ----------------------------------------------------

export class CallerExistsError extends Error {
  override name = "CallerExistsError";
}

/** Creates a caller; returns its token, which is shown once and never stored. */
export async function addCaller(sql: Sql, input: { name: string; rate?: Rate; recipientRate?: Rate }, now: number): Promise<string> {
  const name = callerName(input.name);
  const token = newToken(name);
  const created = await insertCaller(sql, {
    name,
    tokenHash: tokenDigest(token),
    rateLimit: input.rate?.limit ?? null,
    ratePeriodMs: input.rate?.periodMs ?? null,
    recipientLimit: input.recipientRate?.limit ?? null,
    recipientPeriodMs: input.recipientRate?.periodMs ?? null,
    createdAt: now,
  });
  if (!created) throw new CallerExistsError(`a caller named ${name} exists (remove it first, or rotate its token)`);
  return token;
}

export interface CallerSummary {
  name: string;
  rate: string | null;
  recipientRate: string | null;
  createdAt: string;
  rotatedAt: string | null;
  /** Whether a previous token is still accepted (until when). */
  previousTokenUntil: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function listCallers(sql: Sql, now: number): Promise<CallerSummary[]> {
  return (await fetchCallers(sql)).map((c) => {
    const { rate, recipientRate } = limitsOf(c);
    return {
      name: c.name,
      rate: rate ? formatRate(rate) : null,
      recipientRate: recipientRate ? formatRate(recipientRate) : null,
      createdAt: iso(c.createdAt),
      rotatedAt: c.rotatedAt === null ? null : iso(c.rotatedAt),
      previousTokenUntil: c.previousUntil !== null && c.previousUntil > now ? iso(c.previousUntil) : null,
    };
  });
}

/** false when there is no such caller. Its tokens stop working with the next request. */
export async function removeCaller(sql: Sql, name: string): Promise<boolean> {
  return await deleteCaller(sql, callerName(name));
}

/** The caller's new token (undefined when there is no such caller); the old one works for `graceMs` more. */
export async function rotateCaller(sql: Sql, name: string, now: number, graceMs = ROTATION_GRACE_MS): Promise<string | undefined> {
  const token = newToken(callerName(name));
  return (await rotateCallerToken(sql, name, tokenDigest(token), now + graceMs, now)) ? token : undefined;
}

export interface WindowUsage {
  limit: number;
  period: RatePeriod;
  /** Sends counted in the window open now (0 when none is). */
  count: number;
  windowStart: string | null;
  windowEnd: string | null;
}

export interface CallerUsage {
  name: string;
  rate: WindowUsage | null;
  recipientRate: (Omit<WindowUsage, "count" | "windowStart" | "windowEnd"> & { recipients: number; busiest: { address: string; count: number; windowEnd: string }[] }) | null;
}

/** The caller's counts in the windows open at `now`, next to its limits; undefined when there is no such caller. */
export async function callerUsage(sql: Sql, name: string, now: number, top = 10): Promise<CallerUsage | undefined> {
  const caller = (await fetchCallersNamed(sql, [callerName(name)])).callers.get(name);
  if (!caller) return undefined;
  const { rate, recipientRate } = limitsOf(caller);
  const counters = await fetchOpenCounters(sql, name, now, top);
  const window = (counter: CounterRow | undefined, r: Rate) =>
    counter && counter.windowEnd - counter.windowStart === r.periodMs
      ? { count: counter.count, windowStart: iso(counter.windowStart), windowEnd: iso(counter.windowEnd) }
      : { count: 0, windowStart: null, windowEnd: null };
  return {
    name,
    rate: rate ? { limit: rate.limit, period: rate.period, ...window(counters.own, rate) } : null,
    recipientRate: recipientRate
      ? {
          limit: recipientRate.limit,
          period: recipientRate.period,
          recipients: counters.recipientCount,
          busiest: counters.recipients.map((r) => ({ address: r.address, count: r.count, windowEnd: iso(r.windowEnd) })),
        }
      : null,
  };
}

export interface RecipientLimitUsage {
  caller: string;
  limit: number;
  period: RatePeriod;
  /** Sends to the address counted in the caller's window open now. */
  count: number;
  windowEnd: string | null;
  /** Set when the caller may not send to the address again before then. */
  refusedUntil: string | null;
}

/** Where one address stands against every caller's per-recipient limit at `now` (callers without one are left out). */
export async function recipientUsage(sql: Sql, address: string, now: number): Promise<RecipientLimitUsage[]> {
  const limited = (await fetchCallers(sql)).flatMap((c) => {
    const { recipientRate } = limitsOf(c);
    return recipientRate ? [{ name: c.name, rate: recipientRate }] : [];
  });
  const counters = await fetchRecipientCounters(sql, limited.map((c) => c.name), address, now);
  return limited.map(({ name, rate }) => {
    const counter = counters.get(name);
    const open = counter && counter.windowEnd - counter.windowStart === rate.periodMs ? counter : undefined;
    const count = open?.count ?? 0;
    return {
      caller: name,
      limit: rate.limit,
      period: rate.period,
      count,
      windowEnd: open ? iso(open.windowEnd) : null,
      refusedUntil: open && count >= rate.limit ? iso(open.windowEnd) : null,
    };
  });
}
