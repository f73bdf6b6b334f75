// What a bounce or complaint notification writes to email_bounces (spec/email.md §6.1, §9.4): one row
// per recipient with the numeric codes, the lower-cased address, the event time, and a key made from
// the notification's feedbackId so that a redelivered notification never writes a row twice.
import { hash } from "node:crypto";
import type { Sql } from "../../db/client.ts";
import { PROBLEM_TYPE_CODE } from "../problem-codes.ts";
import { BOUNCE_SUBTYPES, COMPLAINT_FEEDBACK_TYPES, type SesNotification } from "./notification.ts";

export interface ProblemRow {
  email: string;
  bounce_type: number;
  bounce_sub_type: number;
  /** ms since the epoch: the SES event time, never later than when it was recorded. */
  created_at: number;
  /** hex SHA-256 of the feedbackId. */
  feedback_key: string;
}

const feedbackKey = (feedbackId: string) => hash("sha256", feedbackId, "hex");

/** bounce_sub_type: the SES subtypes are 1..8, the complaint feedback types 9..14, 0 when absent. */
const bounceSubtypeCode = (name: string) => 1 + BOUNCE_SUBTYPES.indexOf(name as (typeof BOUNCE_SUBTYPES)[number]);
const feedbackTypeCode = (name: string | undefined) => (name === undefined ? 0 : 9 + COMPLAINT_FEEDBACK_TYPES.indexOf(name as (typeof COMPLAINT_FEEDBACK_TYPES)[number]));

/**
 * The rows a notification records, in recipient order (deliveries record none). `now` caps the event
 * time: a clock running ahead (or a forged timestamp) must not keep an address blocked into the future.
 */
export function problemRows(n: SesNotification, now: number): ProblemRow[] {
  if (n.notificationType === "Bounce" && n.bounce) {
    const b = n.bounce;
    const type = b.bounceType === "Permanent" ? PROBLEM_TYPE_CODE.hard : PROBLEM_TYPE_CODE.soft;
    const key = feedbackKey(b.feedbackId);
    const at = Math.min(b.timestamp.ms, now);
    return b.bouncedRecipients.map((email) => ({ email, bounce_type: type, bounce_sub_type: bounceSubtypeCode(b.bounceSubType), created_at: at, feedback_key: key }));
  }
  if (n.notificationType === "Complaint" && n.complaint) {
    const c = n.complaint;
    const key = feedbackKey(c.feedbackId);
    const at = Math.min(c.timestamp.ms, now);
    const subtype = feedbackTypeCode(c.complaintFeedbackType);
    return c.complainedRecipients.map((email) => ({ email, bounce_type: PROBLEM_TYPE_CODE.complaint, bounce_sub_type: subtype, created_at: at, feedback_key: key }));
  }
  return [];
}

/** Identifies a row for deduplication: the unique key of email_bounces' feedback index (as the store's statement returns it). */
export const rowIdentity = (row: ProblemRow) => `${row.feedback_key} ${row.bounce_type} ${row.email}`;

/** email-queues needs migration 2 (feedback_key) on top of the tables email-send checks. */
export async function checkQueuesSchema(sql: Sql): Promise<void> {
  const [row] = await sql<[{ found: boolean }]>`
    select exists (select 1 from information_schema.columns
                   where table_name = 'email_bounces' and column_name = 'feedback_key' and table_schema = current_schema()) as found`;
  if (!row.found) throw new Error("email schema is out of date: email_bounces.feedback_key is missing (run `email-queues migrate` against a development database)");
}
