// An address's suppression, one module behind every face: GET/DELETE /bounces/:email, the operator
// console's pages and its clear button. What the send check sees for an address (its newest 20
// records), which limit refuses it now and until when, its whole history page by page, the newest
// records of every address, and clearing an address (logged with who did it).
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { deleteBounces, fetchBouncePage, fetchBounces, fetchRecentBounces, type AddressCursor, type StoredBounce } from "./bounce-store.ts";
import { suppressionOf, violationError, type BounceRecord, type DeliveryProblemLimits } from "./delivery-problems.ts";
import { normalizeEmailAddress, stripDisplayName } from "./email-address.ts";
import { EmailError } from "./errors.ts";
import { problemSubtype, problemType } from "./problem-codes.ts";
import { invalidValue } from "./serde-json.ts";

export interface SuppressionDeps {
  sql: Sql;
  log: Logger;
  limits: DeliveryProblemLimits;
  now: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The normalised address (as /send checks it), or a 400 InvalidPayload naming the bad value. */
export function addressParam(raw: string): string {
  const address = normalizeEmailAddress(raw);
  if (address === undefined) throw new EmailError("InvalidPayload", invalidValue({ kind: "string", value: stripDisplayName(raw) }, "email address").message);
  return address;
}

export interface RecordView {
  bounceType: number;
  bounceSubType: number;
  problem: string | null;
  subtype: string | null;
  createdAt: number;
  createdAtIso: string;
}

const recordView = (r: BounceRecord): RecordView => ({
  bounceType: r.bounceType,
  bounceSubType: r.bounceSubType,
  problem: problemType(r.bounceType) ?? null,
  subtype: problemSubtype(r.bounceSubType) ?? null,
  createdAt: r.createdAt,
  createdAtIso: iso(r.createdAt),
});

export interface Refusal {
  errno: number;
  /** What /send would answer (e.g. "Hard-bounce limit violated"). */
  message: string;
  problem: string;
  limit: { period: string; limit: number };
  /** The record at which the count went over the limit. */
  record: { createdAt: number; createdAtIso: string };
  /** The first instant at which these records no longer refuse the address (if no new problem arrives). */
  until: number;
  untilIso: string;
}

export interface AddressReport {
  address: string;
  checksEnabled: boolean;
  refused: Refusal | null;
  /** The newest 20, newest first: exactly what the send check counts. */
  records: RecordView[];
}

/** What the send check sees for `address` (already normalised) at `now`. */
export async function addressReport(deps: SuppressionDeps, address: string): Promise<AddressReport> {
  const now = deps.now();
  const records = await fetchBounces(deps.sql, address);
  const suppression = deps.limits.enabled ? suppressionOf(records, deps.limits, now) : undefined;
  deps.log.info("Bounce records read", { address, records: records.length, refused: suppression !== undefined });
  let refused: Refusal | null = null;
  if (suppression) {
    const error = violationError(address, suppression);
    refused = {
      errno: error.errno,
      message: error.message,
      problem: suppression.type,
      limit: { period: suppression.limit.period, limit: suppression.limit.limit },
      record: { createdAt: suppression.record.createdAt, createdAtIso: iso(suppression.record.createdAt) },
      until: suppression.until,
      untilIso: iso(suppression.until),
    };
  }
  return { address, checksEnabled: deps.limits.enabled, refused, records: records.map(recordView) };
}

/**
 * Deletes every record of `address`; logged with `actor`, who asked (the console's operator name,
 * "operator token" for the JSON route).
 */
export async function clearAddress(deps: SuppressionDeps, address: string, actor: string): Promise<{ address: string; deleted: number }> {
  const deleted = await deleteBounces(deps.sql, address);
  deps.log.info("Bounce records cleared", { address, deleted, actor });
  return { address, deleted };
}

/** A page of stored records; `next` is the cursor of the following page, absent on the last one. */
export interface BouncePage {
  records: (RecordView & { id: string; email: string })[];
  next?: string;
}

const storedView = (r: StoredBounce) => ({ ...recordView(r), id: String(r.id), email: r.email });

function badCursor(text: string): never {
  throw new EmailError("InvalidPayload", `invalid cursor ${JSON.stringify(text.slice(0, 40))}`);
}

const ID = /^[1-9][0-9]{0,18}$/;

/** `<createdAt>.<id>` of the last record shown. */
function addressCursor(text: string): AddressCursor {
  const match = /^(0|[1-9][0-9]{0,15})\.([1-9][0-9]{0,18})$/.exec(text);
  if (!match || !Number.isSafeInteger(Number(match[1]))) badCursor(text);
  return { createdAt: Number(match[1]), id: BigInt(match[2]!) };
}

/** Every record of `address`, newest first, `limit` at a time (past the 20 the check reads). */
export async function addressHistory(deps: SuppressionDeps, address: string, options: { after?: string; limit: number }): Promise<BouncePage> {
  const after = options.after === undefined ? undefined : addressCursor(options.after);
  // One more than shown says whether there is a next page without a count.
  const rows = await fetchBouncePage(deps.sql, address, { limit: options.limit + 1, ...(after ? { after } : {}) });
  const shown = rows.slice(0, options.limit);
  const last = shown.at(-1);
  return { records: shown.map(storedView), ...(rows.length > options.limit && last ? { next: `${last.createdAt}.${last.id}` } : {}) };
}

/** The newest records of every address (by row id, the order they were recorded), `limit` at a time after the cursor. */
export async function recentRecords(deps: SuppressionDeps, options: { after?: string; limit: number }): Promise<BouncePage> {
  if (options.after !== undefined && !ID.test(options.after)) badCursor(options.after);
  const beforeId = options.after === undefined ? undefined : BigInt(options.after);
  const rows = await fetchRecentBounces(deps.sql, { limit: options.limit + 1, ...(beforeId !== undefined ? { beforeId } : {}) });
  const shown = rows.slice(0, options.limit);
  const last = shown.at(-1);
  return { records: shown.map(storedView), ...(rows.length > options.limit && last ? { next: String(last.id) } : {}) };
}
