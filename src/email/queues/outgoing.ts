// The normalised notification sent to the outgoing queue (spec/email.md §9.5), byte for byte the
// original's serde_json output: fixed key order, `null` for absent mail fields, recipients flattened
// to normalised addresses, chrono timestamps, `metadata` only when some was stored, and only the
// payload of the notification's own type. JSON.stringify escapes strings exactly as serde_json does.
import type { SesNotification } from "./notification.ts";

/** The mail part: every field present, `null` when absent, in the original's order. */
function mailJson(mail: SesNotification["mail"]) {
  return {
    timestamp: mail.timestamp.text,
    messageId: mail.messageId,
    source: mail.source ?? null,
    destination: mail.destination ?? null,
    headers: mail.headers ? mail.headers.map((h) => ({ name: h.name, value: h.value })) : null,
  };
}

/** The payload of the notification's own type, under its key. */
function payloadJson(n: SesNotification): Record<string, unknown> {
  switch (n.notificationType) {
    case "Bounce": {
      const b = n.bounce!;
      return { bounce: { bounceType: b.bounceType, bounceSubType: b.bounceSubType, bouncedRecipients: b.bouncedRecipients, timestamp: b.timestamp.text } };
    }
    case "Complaint": {
      const c = n.complaint!;
      return { complaint: { complainedRecipients: c.complainedRecipients, complaintFeedbackType: c.complaintFeedbackType ?? null, timestamp: c.timestamp.text } };
    }
    case "Delivery": {
      const d = n.delivery!;
      return { delivery: { timestamp: d.timestamp.text, recipients: d.recipients } };
    }
  }
}

/** The outgoing body. `n` must carry the payload of its type (see payloadError). */
export function outgoingNotification(n: SesNotification, metadata?: string): string {
  // Objects keep their keys in insertion order, so one stringify writes the original's key order.
  const body = { notificationType: n.notificationType, mail: mailJson(n.mail), ...(metadata === undefined ? {} : { metadata }), ...payloadJson(n) };
  return JSON.stringify(body);
}

/** The SNS-style envelope the auth server's consumer unwraps (`JSON.parse(JSON.parse(Body).Message)`). */
export function wrapOutgoing(body: string): string {
  return `{"Type":"Notification","Message":${JSON.stringify(body)}}`;
}
