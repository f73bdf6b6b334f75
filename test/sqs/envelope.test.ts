import { describe, expect, test } from "bun:test";
import { unwrapSnsEnvelope } from "../../src/sqs/envelope.ts";
import { readVector } from "../support/vectors.ts";

describe("unwrapSnsEnvelope", () => {
  test("an SNS notification gives its Message string and ids", () => {
    const envelope = readVector<{ body: Record<string, unknown> }>("email/ses/sns-envelope-example.json").body;
    const unwrapped = unwrapSnsEnvelope(envelope);
    expect(unwrapped.kind).toBe("sns");
    if (unwrapped.kind !== "sns") return;
    expect(unwrapped.message).toBe(envelope.Message as string);
    expect(unwrapped.messageId).toBe(envelope.MessageId as string);
    expect(unwrapped.topicArn).toBe(envelope.TopicArn as string);
  });

  test("raw delivery and anything without a string Message is left as it is", () => {
    expect(unwrapSnsEnvelope({ event: "delete" })).toEqual({ kind: "raw", value: { event: "delete" } });
    expect(unwrapSnsEnvelope({ Message: { event: "delete" } })).toEqual({ kind: "raw", value: { Message: { event: "delete" } } });
    expect(unwrapSnsEnvelope([1, 2])).toEqual({ kind: "raw", value: [1, 2] });
    expect(unwrapSnsEnvelope(null)).toEqual({ kind: "raw", value: null });
  });
});
