// Putting an FxA account event on the stack's queue as FxA publishes it: an SNS notification whose
// `Message` is the event as a JSON string, with the account as `uid` and `iss` (spec/tokenserver.md §3.3).
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { StackState } from "./state.ts";
import { ACCOUNT_EVENTS_QUEUE } from "./tools.ts";

export const ACCOUNT_EVENT_TYPES = ["delete", "reset", "passwordChange"] as const;
export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number];

export interface AccountEventInput {
  event: AccountEventType;
  /** The tokenserver email, `<uid>@<issuer>`. */
  email: string;
  /** reset and passwordChange only; FxA sends a ms timestamp. */
  generation?: number;
}

/** The SQS message body. */
export function accountEventBody(input: AccountEventInput): string {
  const at = input.email.lastIndexOf("@");
  if (at <= 0 || at === input.email.length - 1) throw new Error(`not an email: ${input.email}`);
  const message: Record<string, unknown> = { event: input.event, uid: input.email.slice(0, at), iss: input.email.slice(at + 1) };
  if (input.event !== "delete") message.generation = input.generation ?? Date.now();
  return JSON.stringify({
    Type: "Notification",
    MessageId: crypto.randomUUID(),
    TopicArn: "arn:aws:sns:us-east-1:000000000000:fxa-account-events",
    Message: JSON.stringify(message),
    Timestamp: new Date().toISOString(),
  });
}

/** Sends to the stack's account-events queue; resolves with the SQS message id. */
export async function sendAccountEvent(state: Pick<StackState, "sqs">, input: AccountEventInput): Promise<string> {
  const queueUrl = state.sqs.queues[ACCOUNT_EVENTS_QUEUE];
  if (!queueUrl) throw new Error(`the stack has no ${ACCOUNT_EVENTS_QUEUE} queue`);
  const client = new SQSClient({ region: state.sqs.region, endpoint: state.sqs.endpoint, credentials: { accessKeyId: "dev", secretAccessKey: "dev" } });
  try {
    const result = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: accountEventBody(input) }));
    return result.MessageId ?? "";
  } finally {
    client.destroy();
  }
}
