// What a provider's webhook event becomes (spec/email.md §9.6): an SES-shaped notification, exactly the
// object fxa-email-event-proxy put on the queue (then parsed by the same code as an SQS notification),
// an event the proxy ignored, or input it would have crashed on.
export type EventOutcome =
  | { kind: "notification"; notification: Record<string, unknown> }
  | { kind: "skip"; reason: string }
  | { kind: "malformed"; reason: string };

export type Fields = Record<string, unknown>;

export const isFields = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);

/** JavaScript truthiness, which is what the proxy's `! event.x` checks tested. */
export const truthy = (value: unknown): boolean => Boolean(value);

export const skip = (reason: string): EventOutcome => ({ kind: "skip", reason });
export const malformed = (reason: string): EventOutcome => ({ kind: "malformed", reason });

/** `new Date(value).toISOString()` as the proxy did, refusing what it would have thrown on. */
export function isoTimestamp(value: unknown): string | undefined {
  if (typeof value !== "number" && typeof value !== "string") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
