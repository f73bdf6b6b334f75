// Service notifications from the auth server (spec/event-broker.md §2): the SQS body, raw or in an SNS
// envelope, checked with the original's per-event schemas (§2.2–2.3) and turned into what the broker does.
//
// Rules kept from the original: every schema allows unknown keys; an event without a schema is unwanted
// (ack, no error); a schema failure is an invalid message (ack, one error line); a body that is not JSON
// is kept on the queue (it goes to the dead-letter queue by the redrive policy, as the original's did).
// Deliberately stricter than the original: `uid` must be 32 hex digits and a `clientId` at most 128 hex
// digits, so nothing that cannot be an FxA id reaches the store or a relying party.
import { z } from "zod";
import { unwrapSnsEnvelope } from "../sqs/envelope.ts";

const uid = z.string().regex(/^[0-9a-fA-F]{32}$/, "must be 32 hex digits");
/** Joi's string(): the empty string is not a string. */
const text = z.string().min(1);
const ts = z.number();
const timestamp = z.number().optional();
/** [NEWEST] an even number of hex digits. */
export const CLIENT_ID = z.string().max(128).regex(/^(?:[0-9a-fA-F]{2})+$/, "must be hex");

const base = { uid, ts, timestamp };

export const SCHEMAS = {
  login: z.looseObject({
    ...base,
    deviceCount: z.number().int(),
    email: text,
    clientId: CLIENT_ID.optional(),
    service: text.optional(),
    userAgent: text.optional(),
  }),
  "subscription:update": z.looseObject({
    ...base,
    eventCreatedAt: z.number().int(),
    isActive: z.boolean(),
    productCapabilities: z.array(text),
  }),
  delete: z.looseObject(base),
  passwordChange: z.looseObject(base),
  reset: z.looseObject(base),
  primaryEmailChanged: z.looseObject({ ...base, email: text.optional() }),
  profileDataChange: z.looseObject({
    ...base,
    email: text.optional(),
    accountDisabled: z.boolean().optional(),
    accountLocked: z.boolean().optional(),
    locale: text.optional(),
    metricsEnabled: z.boolean().optional(),
    totpEnabled: z.boolean().optional(),
  }),
  appleUserMigration: z.looseObject(base),
  // [INFERRED] the flag's name was not visible upstream: `enabled`, or `metricsEnabled`.
  metricsChange: z
    .looseObject({ ...base, enabled: z.boolean().optional(), metricsEnabled: z.boolean().optional() })
    .refine((m) => m.enabled !== undefined || m.metricsEnabled !== undefined, "needs enabled (or metricsEnabled)"),
} as const;

export type HandledEvent = keyof typeof SCHEMAS;
/** Events fanned out to the user's relying parties and every resource server. */
export type GenericEvent = "delete" | "passwordChange" | "reset" | "primaryEmailChanged" | "profileDataChange" | "metricsChange";

/** A checked message: its fields as sent (unknown keys kept). */
export type Message = Record<string, unknown> & { event: string; uid: string; ts: number; timestamp?: number };

export type Notification =
  | { kind: "login"; uid: string; clientId: string; message: Message }
  | { kind: "generic"; event: GenericEvent; uid: string; message: Message }
  | { kind: "subscription"; uid: string; message: Message & { eventCreatedAt: number; isActive: boolean; productCapabilities: string[] } }
  | { kind: "appleMigration"; uid: string; message: Message }
  /** Nothing to do (an event we do not handle, a login without a client id): acked. */
  | { kind: "unwanted"; event: string; reason: string }
  /** Fails its schema: logged as an error and acked. */
  | { kind: "invalid"; event?: string; reason: string }
  /** Not JSON: left on the queue. */
  | { kind: "unparseable"; reason: string };

const isHandled = (event: string): event is HandledEvent => Object.hasOwn(SCHEMAS, event);

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

const describeIssues = (error: z.ZodError) =>
  error.issues.map((issue) => `${issue.path.join(".") || "message"}: ${issue.message}`).join("; ");

/** The SQS body → what to do with it. Total: never throws. */
export function decodeNotification(body: string | undefined): Notification {
  const outer = parseJson(body ?? "");
  if (!outer.ok) return { kind: "unparseable", reason: `body is not JSON (${outer.reason})` };
  const unwrapped = unwrapSnsEnvelope(outer.value);
  let value: unknown = unwrapped.kind === "raw" ? unwrapped.value : undefined;
  if (unwrapped.kind === "sns") {
    const inner = parseJson(unwrapped.message);
    if (!inner.ok) return { kind: "unparseable", reason: `SNS Message is not JSON (${inner.reason})` };
    value = inner.value;
  }
  return classify(value);
}

/** A parsed message → what to do with it. */
export function classify(value: unknown): Notification {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { kind: "invalid", reason: "message: must be an object" };
  const event = (value as Record<string, unknown>).event;
  if (typeof event !== "string") return { kind: "invalid", reason: "event: is required and must be a string" };
  if (!isHandled(event)) return { kind: "unwanted", event, reason: "no handler for this event" };
  const parsed = SCHEMAS[event].safeParse(value);
  if (!parsed.success) return { kind: "invalid", event, reason: describeIssues(parsed.error) };
  const message = parsed.data as unknown as Message;
  switch (event) {
    case "login": {
      const clientId = message.clientId as string | undefined;
      if (clientId === undefined) return { kind: "unwanted", event, reason: "login without a clientId" };
      return { kind: "login", uid: message.uid, clientId: clientId.toLowerCase(), message };
    }
    case "subscription:update":
      return { kind: "subscription", uid: message.uid, message: message as Extract<Notification, { kind: "subscription" }>["message"] };
    case "appleUserMigration":
      return { kind: "appleMigration", uid: message.uid, message };
    default:
      return { kind: "generic", event, uid: message.uid, message };
  }
}
