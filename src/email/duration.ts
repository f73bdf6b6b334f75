// Durations as the original's config writes them (spec/email.md §5.1): "day", "5 minutes", "2 weeks".
// A month is 30 days and a year 365 days. Values are milliseconds.
import { EmailError } from "./errors.ts";

const UNIT_MS = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
  month: 2_592_000_000,
  year: 31_536_000_000,
} as const;

const DURATION = /^(?:([0-9]+) )?(second|minute|hour|day|week|month|year)s?$/;

/** Milliseconds in `text`; throws EmailError InvalidDuration (errno 105) naming the text verbatim. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new EmailError("InvalidDuration", text);
  const count = match[1] === undefined ? 1 : Number(match[1]);
  const ms = count * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms)) throw new EmailError("InvalidDuration", text);
  return ms;
}
