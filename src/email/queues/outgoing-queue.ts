// The queues email-queues writes to: the notification queue (the normalised notification) and the
// optional dead-letter queue (verbatim copies of what could not be processed). A port with one method,
// so the handler does not care whether SQS or a test stands behind it.
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from "@aws-sdk/client-sqs";
import { backoffDelay, sleep } from "../../core/backoff.ts";

export interface OutgoingQueue {
  readonly url: string;
  /** Resolves with the new message's id; throws when SQS refused it or did not answer in time. */
  send(body: string, options?: { attributes?: Record<string, string>; signal?: AbortSignal }): Promise<string | undefined>;
}

export interface SqsOutgoingOptions {
  /** The whole send, retries included, gives up after this long (a hung endpoint must not hold a message). */
  timeoutMs?: number;
  /** Attempts per send: throttling or a dropped connection should not cost the notification. */
  attempts?: number;
}

export function sqsOutgoingQueue(sqs: SQSClient, url: string, options: SqsOutgoingOptions = {}): OutgoingQueue {
  const { timeoutMs = 10_000, attempts = 3 } = options;
  return {
    url,
    async send(body, sendOptions = {}) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const abortSignal = sendOptions.signal ? AbortSignal.any([sendOptions.signal, timeout]) : timeout;
      const attributes = sendOptions.attributes
        ? Object.fromEntries(
            Object.entries(sendOptions.attributes)
              .filter(([, v]) => v !== "") // SQS refuses empty attribute values
              .map(([k, v]): [string, MessageAttributeValue] => [k, { DataType: "String", StringValue: v }]),
          )
        : undefined;
      const command = new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attributes });
      for (let attempt = 0; ; attempt += 1) {
        try {
          return (await sqs.send(command, { abortSignal })).MessageId;
        } catch (error) {
          if (attempt + 1 >= attempts || abortSignal.aborted || !retryable(error)) throw error;
          await sleep(backoffDelay({ baseMs: 100, capMs: 1_000 }, attempt), abortSignal);
        }
      }
    },
  };
}

/** Worth another try: throttling, server errors, network failures; not a refusal of the message itself. */
function retryable(error: unknown): boolean {
  const e = error as { $metadata?: { httpStatusCode?: number }; $fault?: string; name?: string };
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined) return true; // no HTTP answer at all: the network
  return e.$fault === "server" || status === 429 || status >= 500 || e.name === "ThrottlingException" || e.name === "RequestThrottled";
}
