// Sendgrid event webhook events → SES-shaped notifications, as fxa-email-event-proxy mapped them
// (spec/email.md §9.6):
// - events without a truthy `timestamp`, `sg_message_id` or `event` are skipped, and so are event types
//   other than bounce, dropped, delivered and spamreport (open, click, processed, deferred, ...);
// - mail = {timestamp: ISO(timestamp × 1000), messageId: sg_message_id up to ".filter"};
// - bounce → Bounce: Permanent when a three-part status starts with 5, else Transient; the subtype from the
//   status (x.1.x NoEmail, x.2.2 MailboxFull, x.2.3 MessageTooLarge, x.6.x ContentRejected, else General);
//   dropped → Bounce Permanent/Suppressed; feedbackId = sg_event_id;
// - delivered → Delivery {recipients: [email], smtpResponse: response};
// - spamreport → Complaint without a feedback type, feedbackId = sg_event_id.
// Where the proxy threw (a non-string sg_message_id or status, a timestamp that is not a date) the event
// is malformed. Numbers given as text (form bodies) are read as numbers, as the proxy's `timestamp * 1000` did.
import { isFields, isoTimestamp, malformed, skip, truthy, type EventOutcome } from "./event.ts";

const MAPPED = new Set(["bounce", "dropped", "delivered", "spamreport"]);

function bounceTypes(status: string | undefined): { bounceType: string; bounceSubType: string } {
  let bounceType: string | undefined;
  let bounceSubType: string | undefined;
  const parts = status ? status.split(".") : undefined;
  if (parts && parts.length === 3) {
    if (parts[0] === "5") bounceType = "Permanent";
    if (parts[1] === "1") bounceSubType = "NoEmail";
    else if (parts[1] === "2" && parts[2] === "2") bounceSubType = "MailboxFull";
    else if (parts[1] === "2" && parts[2] === "3") bounceSubType = "MessageTooLarge";
    else if (parts[1] === "6") bounceSubType = "ContentRejected";
  }
  return { bounceType: bounceType ?? "Transient", bounceSubType: bounceSubType ?? "General" };
}

export function sendgridEvent(event: unknown): EventOutcome {
  if (!isFields(event)) return malformed("an event must be an object");
  if (!truthy(event.timestamp) || !truthy(event.sg_message_id) || !truthy(event.event)) return skip("no timestamp, sg_message_id or event");
  if (typeof event.event !== "string" || !MAPPED.has(event.event)) return skip(`event type ${JSON.stringify(event.event)} is not mapped`);
  if (typeof event.sg_message_id !== "string") return malformed("sg_message_id must be a string");
  const seconds = typeof event.timestamp === "string" ? Number(event.timestamp) : event.timestamp;
  const timestamp = typeof seconds === "number" ? isoTimestamp(seconds * 1000) : undefined;
  if (timestamp === undefined) return malformed(`timestamp ${JSON.stringify(event.timestamp)} is not a Unix time`);
  const mail = { timestamp, messageId: event.sg_message_id.split(".filter")[0] };

  switch (event.event) {
    case "bounce":
    case "dropped": {
      // The proxy read `status` only for bounces (and split it only when truthy).
      if (event.event === "bounce" && truthy(event.status) && typeof event.status !== "string") return malformed("status must be a string");
      const types = event.event === "dropped" ? { bounceType: "Permanent", bounceSubType: "Suppressed" } : bounceTypes(truthy(event.status) ? (event.status as string) : undefined);
      return {
        kind: "notification",
        notification: { mail, notificationType: "Bounce", bounce: { ...types, bouncedRecipients: [{ emailAddress: event.email }], timestamp, feedbackId: event.sg_event_id } },
      };
    }
    case "delivered":
      return { kind: "notification", notification: { mail, notificationType: "Delivery", delivery: { timestamp, recipients: [event.email], smtpResponse: event.response } } };
    default: // spamreport
      return {
        kind: "notification",
        notification: { mail, notificationType: "Complaint", complaint: { complainedRecipients: [{ emailAddress: event.email }], timestamp, feedbackId: event.sg_event_id } },
      };
  }
}
