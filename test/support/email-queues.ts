// Fixtures for email-queues: the SES vectors (ses/ and upstream/ses/), SNS envelopes around a
// notification, and a consumer wired to the test database, the SQS emulator and recording metrics.
import type { Message } from "@aws-sdk/client-sqs";
import { listVectors, readVector } from "./vectors.ts";

export interface SesExpected {
  input: string;
  queueUrlAssumed: string;
  parse: "ok" | "error";
  error?: { code: number; error: string; errno: number; message: string };
  dbWrites: { email: string; bounceType: number; bounceSubType: number }[];
  processingError?: string | null;
  forwarded?: Record<string, unknown> | null;
  forwardedBodyExact?: string;
  deleted: boolean;
}

export interface SesVector {
  /** e.g. "ses/bounce-02-permanent-general-with-dsn" */
  name: string;
  expected: SesExpected;
  /** The SQS ReceiveMessage element. */
  message: Message;
}

/** Every vector with an expected outcome, from vectors/email/ses and vectors/email/upstream/ses. */
export function sesVectors(): SesVector[] {
  const out: SesVector[] = [];
  for (const dir of ["email/ses", "email/upstream/ses"]) {
    for (const file of listVectors(`${dir}/expected`)) {
      const expected = readVector<SesExpected>(`${dir}/expected/${file}`);
      out.push({ name: `${dir.replace("email/", "")}/${file.replace(".expected.json", "")}`, expected, message: readVector<Message>(`${dir}/${expected.input}`) });
    }
  }
  return out;
}

/** An SNS envelope (as SNS delivers to SQS) around `message`. */
export function snsBody(message: string | Record<string, unknown>): string {
  return JSON.stringify({
    Type: "Notification",
    MessageId: crypto.randomUUID(),
    TopicArn: "arn:aws:sns:us-east-1:000000000000:fxa-email-bounce",
    Message: typeof message === "string" ? message : JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    SignatureVersion: "1",
  });
}

const ISO = (ms: number) => new Date(ms).toISOString();

/** A bounce notification for `recipients` (SES shape), at `at` ms. */
export function bounceNotification(recipients: string[], options: { at?: number; messageId?: string; feedbackId?: string; bounceType?: string; bounceSubType?: string } = {}) {
  const at = options.at ?? Date.now();
  return {
    notificationType: "Bounce",
    mail: { timestamp: ISO(at - 1000), messageId: options.messageId ?? `msg-${crypto.randomUUID()}`, source: "accounts@firefox.com", destination: recipients },
    bounce: {
      bounceType: options.bounceType ?? "Permanent",
      bounceSubType: options.bounceSubType ?? "General",
      bouncedRecipients: recipients.map((emailAddress) => ({ emailAddress, status: "5.1.1", action: "failed" })),
      timestamp: ISO(at),
      feedbackId: options.feedbackId ?? `feedback-${crypto.randomUUID()}`,
    },
  };
}

export function complaintNotification(recipients: string[], options: { at?: number; messageId?: string; feedbackId?: string; feedbackType?: string } = {}) {
  const at = options.at ?? Date.now();
  return {
    notificationType: "Complaint",
    mail: { timestamp: ISO(at - 1000), messageId: options.messageId ?? `msg-${crypto.randomUUID()}` },
    complaint: {
      complainedRecipients: recipients.map((emailAddress) => ({ emailAddress })),
      timestamp: ISO(at),
      feedbackId: options.feedbackId ?? `feedback-${crypto.randomUUID()}`,
      ...(options.feedbackType ? { complaintFeedbackType: options.feedbackType } : {}),
    },
  };
}

export function deliveryNotification(recipients: string[], options: { at?: number; messageId?: string } = {}) {
  const at = options.at ?? Date.now();
  return {
    notificationType: "Delivery",
    mail: { timestamp: ISO(at - 1000), messageId: options.messageId ?? `msg-${crypto.randomUUID()}` },
    delivery: { timestamp: ISO(at), recipients, processingTimeMillis: 12, smtpResponse: "250 ok" },
  };
}
