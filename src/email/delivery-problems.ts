// Bounce and complaint limits checked before sending (spec/email.md §5): per address, the newest 20
// records are counted per problem type; a limit {period, limit} is violated when more than `limit`
// problems of that type are at most `period` old. Recipients are filtered as the monorepo's
// `check_all` does (§5.4): bouncing cc addresses are dropped, a bouncing `to` is replaced by the last
// surviving cc, and only when nobody is left does the request fail with the `to` address's 429.
import { EmailError } from "./errors.ts";
import { problemType, PROBLEM_TYPE_CODE, type ProblemType } from "./problem-codes.ts";

export interface DeliveryProblemLimit {
  /** As configured ("5 minutes"); kept for reports. */
  period: string;
  periodMs: number;
  /** Problems of this type tolerated inside the period (0-255). */
  limit: number;
}

export interface DeliveryProblemLimits {
  /** false skips every check (the original parsed this flag but never read it). */
  enabled: boolean;
  complaint: readonly DeliveryProblemLimit[];
  hard: readonly DeliveryProblemLimit[];
  soft: readonly DeliveryProblemLimit[];
}

export interface BounceRecord {
  email: string;
  bounceType: number;
  bounceSubType: number;
  /** ms since the epoch */
  createdAt: number;
}

/**
 * The newest records (at most 20, newest first) of each address asked for. Records older than `since`
 * may be left out: they are outside every limit's period.
 */
export type BounceLookup = (addresses: readonly string[], since: number) => Promise<Map<string, BounceRecord[]>>;

export interface Violation {
  type: ProblemType;
  /** The record at which the count first went over the limit (not necessarily the newest). */
  record: BounceRecord;
  limit: DeliveryProblemLimit;
}

const ERROR_KIND = { complaint: "Complaint", soft: "SoftBounce", hard: "HardBounce" } as const;

/** The first violated limit in record order, or undefined when `records` allow sending at `now`. */
export function findViolation(records: readonly BounceRecord[], limits: DeliveryProblemLimits, now: number): Violation | undefined {
  const counts: Record<ProblemType, number> = { complaint: 0, hard: 0, soft: 0 };
  for (const record of records) {
    const type = problemType(record.bounceType);
    if (!type) throw new EmailError("Internal", `invalid value: integer \`${record.bounceType}\`, expected problem type`);
    counts[type] += 1;
    for (const limit of limits[type]) {
      if (counts[type] > limit.limit && record.createdAt >= now - limit.periodMs) return { type, record, limit };
    }
  }
  return undefined;
}

/** chrono's RFC 3339 rendering: the fraction is left out when it is zero. */
function chronoTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** The 429 of spec/email.md §3.2: address, problem (a JSON string of the record) and time. */
export function violationError(address: string, violation: Violation): EmailError {
  const { record, type } = violation;
  const problem = JSON.stringify({
    address: record.email,
    problem_type: PROBLEM_TYPE_CODE[type],
    problem_subtype: record.bounceSubType,
    created_at: chronoTimestamp(record.createdAt),
  });
  return new EmailError(ERROR_KIND[type], "", { address, problem, time: record.createdAt });
}

/** The longest period of any limit, or undefined when there are no limits at all. */
export function longestPeriod(limits: DeliveryProblemLimits): number | undefined {
  const periods = [...limits.complaint, ...limits.hard, ...limits.soft].map((l) => l.periodMs);
  return periods.length ? Math.max(...periods) : undefined;
}

export interface Recipients {
  to: string;
  cc: string[];
}

/** check_all: the recipients that may be mailed, or the `to` address's error when none may. */
export async function checkRecipients(lookup: BounceLookup, limits: DeliveryProblemLimits, recipients: Recipients, now: number): Promise<Recipients> {
  const longest = longestPeriod(limits);
  if (!limits.enabled || longest === undefined) return recipients;
  const { to, cc } = recipients;
  // Only records inside the longest period can violate a limit, and reading newest first, leaving out
  // the older ones does not change which of the newest 20 come before them. So they are not read.
  const records = await lookup([...new Set([to, ...cc])], now - longest);
  const violationOf = (address: string) => findViolation(records.get(address) ?? [], limits, now);
  const surviving = cc.filter((address) => !violationOf(address));
  const toViolation = violationOf(to);
  if (!toViolation) return { to, cc: surviving };
  const promoted = surviving.pop();
  if (promoted === undefined) throw violationError(to, toViolation);
  return { to: promoted, cc: surviving };
}

export interface Suppression extends Violation {
  /** The first instant (ms) at which these records no longer refuse the address. */
  until: number;
}

/** Which limit refuses `records` at `now`, and until when (assuming no new problems arrive). */
export function suppressionOf(records: readonly BounceRecord[], limits: DeliveryProblemLimits, now: number): Suppression | undefined {
  const violation = findViolation(records, limits, now);
  if (!violation) return undefined;
  // Records only age, so the answer is the first moment a window closes after which nothing is violated.
  const candidates = new Set<number>();
  for (const record of records) {
    const type = problemType(record.bounceType)!;
    for (const limit of limits[type]) {
      const expires = record.createdAt + limit.periodMs + 1;
      if (expires > now) candidates.add(expires);
    }
  }
  const ordered = [...candidates].sort((a, b) => a - b);
  const until = ordered.find((t) => !findViolation(records, limits, t)) ?? ordered.at(-1)!;
  return { ...violation, until };
}
