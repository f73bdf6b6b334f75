// Send-rate limits (issue 11), counted in PostgreSQL so every instance enforces the same limit: a
// caller's sends per window, and its sends to one recipient per window (`to` and every cc that is
// actually sent, after the bounce checks). Fixed windows aligned to the epoch: a limit of N per
// minute admits at most N sends with timestamps in each clock minute, exactly, however many instances
// count; across a window boundary up to 2N can go out within one period. Fixed windows were chosen
// over GCRA or a sliding log because the count is an integer compared with N (no rounding of N/period),
// one row per counter, a Retry-After that is the window's end, and usage that reads as "k of N".
//
// The checks of the requests of one event-loop tick go to the database together (takeSends: one upsert
// when everything fits, else email_send_take request by request), all or nothing per request: a refused
// request takes nothing from any counter. /send takes while its bounce checks run and gives back what
// they drop (giveBack, also batched), so the check adds no round trip to a request's path. Counters
// with limits of 1,000 or more per window are taken in leases (./send-lease.ts), so that a caller's
// own counter, which every send of the caller updates, is not one hot row for every instance.
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { deleteEndedCounters, giveBackSends, takeSends, type TakeEntry, type TakeResult } from "./caller-store.ts";
import { sendLeases } from "./send-lease.ts";
import type { CallerLimits, Rate } from "./callers.ts";
import { EmailError } from "./errors.ts";
import { coalesceCalls } from "../core/concurrency.ts";
import { startSweep } from "../db/sweep.ts";

/** What a take counted, to give back what is not sent. */
export interface Taken {
  /** Counted in PostgreSQL for this send (at `at`). */
  entries: TakeEntry[];
  /** Admitted from this instance's leases (at `at`). */
  fromLeases: TakeEntry[];
  at: number;
}

export type TakeOutcome = { taken: Taken } | { refused: EmailError; entry: TakeEntry };

export interface SendRateGate {
  /** Takes one send from the caller's counter and each recipient's (all or nothing). */
  take(caller: CallerLimits, recipients: readonly string[], now: number): Promise<TakeOutcome>;
  /** Gives back what was taken for recipients not in `sent` (and the caller's own when nothing is sent). */
  giveBack(taken: Taken, sent: readonly string[]): Promise<void>;
}

/** The counters a send takes from, its caller's first. */
export function entriesFor(caller: CallerLimits, recipients: readonly string[]): TakeEntry[] {
  const entries: TakeEntry[] = [];
  if (caller.rate) entries.push({ caller: caller.name, address: "", limit: caller.rate.limit, periodMs: caller.rate.periodMs });
  const perRecipient = caller.recipientRate;
  if (perRecipient) {
    // A recipient named twice gets one message, so it is counted once.
    for (const address of new Set(recipients)) entries.push({ caller: caller.name, address, limit: perRecipient.limit, periodMs: perRecipient.periodMs });
  }
  return entries;
}

const messages = (rate: Rate) => `${rate.limit} message${rate.limit === 1 ? "" : "s"} per ${rate.period}`;

/** The 429 (errno 112) for a refused send: the limit in the message, `retryAfter` in seconds (also the header). */
export function rateLimitedError(caller: CallerLimits, refused: TakeEntry, retryAfterMs: number): EmailError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const own = refused.address === "";
  const rate = (own ? caller.rate : caller.recipientRate)!;
  const detail = own ? `caller ${caller.name} may send ${messages(rate)}` : `caller ${caller.name} may send ${messages(rate)} to ${refused.address}`;
  return new EmailError(
    "SendRateLimited",
    detail,
    { ...(own ? {} : { address: refused.address }), limit: rate.limit, period: rate.period, retryAfter },
    { headers: { "retry-after": String(retryAfter) } },
  );
}

export function sendRateGate(sql: Sql, options: { maxInFlight?: number; maxBatch?: number } = {}): SendRateGate {
  const leases = sendLeases();
  const take = coalesceCalls<{ entries: TakeEntry[]; now: number }, TakeResult & { at: number }>(
    // One `now` per batch: the latest, so no send is counted in a window that has already ended.
    async (items) => {
      const at = Math.max(...items.map((i) => i.now));
      const asks = leases.asks(items.flatMap((i) => i.entries), at);
      const { results, leased } = await takeSends(sql, items.map((i) => i.entries), at, asks);
      leases.granted(asks, leased, at);
      return results.map((r) => ({ ...r, at }));
    },
    { maxInFlight: options.maxInFlight ?? 2, maxBatch: options.maxBatch ?? 256 },
  );
  const giveBack = coalesceCalls<(TakeEntry & { takenAt: number })[], void>(
    async (items) => {
      await giveBackSends(sql, items.flat());
      return items.map(() => undefined);
    },
    { maxInFlight: 1, maxBatch: 256 },
  );
  return {
    async take(caller, recipients, now) {
      const fromLeases: TakeEntry[] = [];
      const entries: TakeEntry[] = [];
      for (const entry of entriesFor(caller, recipients)) (leases.use(entry, now) ? fromLeases : entries).push(entry);
      if (entries.length === 0) return { taken: { entries, fromLeases, at: now } };
      const result = await take({ entries, now });
      if (result.taken) return { taken: { entries, fromLeases, at: result.at } };
      // All or nothing: what the leases admitted goes back to them.
      for (const entry of fromLeases) leases.putBack(entry, now);
      const entry = entries[result.refusedEntry ?? 0]!;
      return { refused: rateLimitedError(caller, entry, result.retryAfterMs), entry };
    },
    async giveBack(taken, sent) {
      const kept = new Set(sent);
      const notSent = (e: TakeEntry) => (e.address === "" ? kept.size === 0 : !kept.has(e.address));
      for (const entry of taken.fromLeases.filter(notSent)) leases.putBack(entry, taken.at);
      const back = taken.entries.filter(notSent);
      if (back.length > 0) await giveBack(back.map((e) => ({ ...e, takenAt: taken.at })));
    },
  };
}

/** Deletes counters whose window has ended, every `intervalMs` (each instance may run it). */
export function startSendCounterSweep(options: { sql: Sql; log: Logger; intervalMs: number; now?: () => number }): { stop(): void } {
  return startSweep({ ...options, deleteSome: (now) => deleteEndedCounters(options.sql, now), deleted: "Ended send counters deleted", failed: "Send counter sweep failed" });
}
