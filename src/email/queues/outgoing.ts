// The normalised notification sent to the outgoing queue (spec/email.md §9.5), byte for byte the
// original's serde_json output: fixed key order, `null` for absent mail fields, recipients flattened
// to normalised addresses, chrono timestamps, `metadata` only when some was stored, and only the
// payload of the notification's own type. JSON.stringify escapes strings exactly as serde_json does.
import type { SesNotification } from "./notification.ts";

const str = JSON.stringify as (value: string) => string;
const list = (values: readonly string[]) => `[${values.map(str).join(",")}]`;

function mailJson(mail: SesNotification["mail"]): string {
  const headers = mail.headers
    ? `[${mail.headers.map((h) => `{"name":${str(h.name)},"value":${typeof h.value === "string" ? str(h.value) : list(h.value)}}`).join(",")}]`
    : "null";
  return (
    `{"timestamp":${str(mail.timestamp.text)},"messageId":${str(mail.messageId)},` +
    `"source":${mail.source === undefined ? "null" : str(mail.source)},` +
    `"destination":${mail.destination ? list(mail.destination) : "null"},"headers":${headers}}`
  );
}

function payloadJson(n: SesNotification): string {
  switch (n.notificationType) {
    case "Bounce": {
      const b = n.bounce!;
      return `"bounce":{"bounceType":${str(b.bounceType)},"bounceSubType":${str(b.bounceSubType)},"bouncedRecipients":${list(b.bouncedRecipients)},"timestamp":${str(b.timestamp.text)}}`;
    }
    case "Complaint": {
      const c = n.complaint!;
      const feedback = c.complaintFeedbackType === undefined ? "null" : str(c.complaintFeedbackType);
      return `"complaint":{"complainedRecipients":${list(c.complainedRecipients)},"complaintFeedbackType":${feedback},"timestamp":${str(c.timestamp.text)}}`;
    }
    case "Delivery": {
      const d = n.delivery!;
      return `"delivery":{"timestamp":${str(d.timestamp.text)},"recipients":${list(d.recipients)}}`;
    }
  }
}

/** The outgoing body. `n` must carry the payload of its type (see payloadError). */
export function outgoingNotification(n: SesNotification, metadata?: string): string {
  const meta = metadata === undefined ? "" : `"metadata":${str(metadata)},`;
  return `{"notificationType":${str(n.notificationType)},"mail":${mailJson(n.mail)},${meta}${payloadJson(n)}}`;
}

/** The SNS-style envelope the auth server's consumer unwraps (`JSON.parse(JSON.parse(Body).Message)`). */
export function wrapOutgoing(body: string): string {
  return `{"Type":"Notification","Message":${str(body)}}`;
}
