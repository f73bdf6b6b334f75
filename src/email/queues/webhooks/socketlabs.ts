// SocketLabs Notification API events → SES-shaped notifications, as fxa-email-event-proxy mapped them
// (spec/email.md §9.6):
// - events without a truthy Address, DateTime, Type or MessageId are skipped, and so are types other than
//   Failed, Delivered and Complaint;
// - mail = {timestamp: ISO(DateTime), messageId: MessageId}; feedbackId = MessageId;
// - Failed → Bounce by FailureCode: 1002/1003 Permanent/"Supressed" (the proxy's spelling, which the SES
//   parser turns into Undetermined), 1004 Transient/ContentRejected, 1007 Transient/AttachmentRejected,
//   2001-2004/2999 Permanent/NoEmail, 3001 Transient/MailboxFull, 9999 Undetermined/Undetermined, anything
//   else Transient/General;
// - Delivered → Delivery {recipients: [Address], smtpResponse: Response}; Complaint → Complaint.
// The SecretKey check is the caller's (it refuses the whole request). One deliberate difference: a
// FailureCode given as text (form bodies always are) is read as a number; the proxy compared strictly,
// so every form-posted failure became Transient/General.
import { isFields, isoTimestamp, malformed, skip, truthy, type EventOutcome } from "./event.ts";

const FAILURE_TYPES: Record<number, [string, string]> = {
  1002: ["Permanent", "Supressed"],
  1003: ["Permanent", "Supressed"],
  1004: ["Transient", "ContentRejected"],
  1007: ["Transient", "AttachmentRejected"],
  2001: ["Permanent", "NoEmail"],
  2002: ["Permanent", "NoEmail"],
  2003: ["Permanent", "NoEmail"],
  2004: ["Permanent", "NoEmail"],
  2999: ["Permanent", "NoEmail"],
  3001: ["Transient", "MailboxFull"],
  9999: ["Undetermined", "Undetermined"],
};

function failureTypes(code: unknown): [string, string] {
  const n = typeof code === "string" && /^[0-9]+$/.test(code.trim()) ? Number(code) : code;
  return (typeof n === "number" && Object.hasOwn(FAILURE_TYPES, n) ? FAILURE_TYPES[n] : undefined) ?? ["Transient", "General"];
}

export function socketlabsEvent(event: unknown): EventOutcome {
  if (!isFields(event)) return malformed("an event must be an object");
  if (!truthy(event.Address) || !truthy(event.DateTime) || !truthy(event.Type) || !truthy(event.MessageId)) return skip("no Address, DateTime, Type or MessageId");
  if (event.Type !== "Failed" && event.Type !== "Delivered" && event.Type !== "Complaint") return skip(`event type ${JSON.stringify(event.Type)} is not mapped`);
  const timestamp = isoTimestamp(event.DateTime);
  if (timestamp === undefined) return malformed(`DateTime ${JSON.stringify(event.DateTime)} is not a date`);
  const mail = { timestamp, messageId: event.MessageId };
  switch (event.Type) {
    case "Failed": {
      const [bounceType, bounceSubType] = failureTypes(event.FailureCode);
      return {
        kind: "notification",
        notification: { mail, notificationType: "Bounce", bounce: { bounceType, bounceSubType, bouncedRecipients: [{ emailAddress: event.Address }], timestamp, feedbackId: event.MessageId } },
      };
    }
    case "Delivered":
      return { kind: "notification", notification: { mail, notificationType: "Delivery", delivery: { timestamp, recipients: [event.Address], smtpResponse: event.Response } } };
    default: // Complaint
      return {
        kind: "notification",
        notification: { mail, notificationType: "Complaint", complaint: { complainedRecipients: [{ emailAddress: event.Address }], timestamp, feedbackId: event.MessageId } },
      };
  }
}
