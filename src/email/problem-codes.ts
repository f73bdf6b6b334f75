// The numeric codes of a delivery problem as stored in email_bounces (spec/email.md §6.1), shared by
// the send checks and the queue processor that records them.

export type ProblemType = "hard" | "soft" | "complaint";

/** bounce_type → problem type; 0 ("unmapped" in the auth db) counts as soft, as in the original. */
export function problemType(code: number): ProblemType | undefined {
  switch (code) {
    case 0:
    case 2:
      return "soft";
    case 1:
      return "hard";
    case 3:
      return "complaint";
    default:
      return undefined;
  }
}

export const PROBLEM_TYPE_CODE: Record<ProblemType, number> = { hard: 1, soft: 2, complaint: 3 };

/** bounce_sub_type 0..14, in code order. */
export const PROBLEM_SUBTYPES = [
  "Unmapped", "Undetermined", "General", "NoEmail", "Suppressed", "MailboxFull", "MessageTooLarge",
  "ContentRejected", "AttachmentRejected", "Abuse", "AuthFailure", "Fraud", "NotSpam", "Other", "Virus",
] as const;
export type ProblemSubtype = (typeof PROBLEM_SUBTYPES)[number];

export function problemSubtype(code: number): ProblemSubtype | undefined {
  return Number.isInteger(code) ? PROBLEM_SUBTYPES[code] : undefined;
}
