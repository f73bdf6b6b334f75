// SNS → SQS delivery wraps the publisher's message in a notification envelope whose `Message` is the
// original message as a string. Raw delivery does not. Consumers call this before parsing their payload.

export type Unwrapped =
  | { kind: "sns"; message: string; messageId?: string; topicArn?: string }
  | { kind: "raw"; value: unknown };

/** `body` is the already JSON-parsed SQS body. A `Message` that is not a string is left as raw. */
export function unwrapSnsEnvelope(body: unknown): Unwrapped {
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record.Message === "string") {
      return {
        kind: "sns",
        message: record.Message,
        messageId: typeof record.MessageId === "string" ? record.MessageId : undefined,
        topicArn: typeof record.TopicArn === "string" ? record.TopicArn : undefined,
      };
    }
  }
  return { kind: "raw", value: body };
}
