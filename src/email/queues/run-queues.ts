// The email-queues consumer: the tool minus its command line. One consumer loop (src/sqs/consumer.ts)
// per distinct source queue; a message's type comes from its notificationType, not from the queue it
// arrived on, so the bounce, complaint and delivery URLs may name one queue.
//
// Policy (the consumer's contract, DESIGN.md §5):
// - a valid notification is recorded, forwarded, then deleted (forwarding failures are logged and
//   counted; the message is still deleted, as in the original);
// - a message that can never be processed (every parse failure of spec/email.md §9.2, an invalid
//   address, a notification without the payload of its type) is logged with its reason and SQS message
//   id, counted, copied verbatim to the dead-letter queue when there is one, and deleted; if that copy
//   fails the message stays, so nothing is dropped unseen;
// - a database failure leaves the message on the queue: the consumer backs off and it comes back.
import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { TransientError } from "../../core/errors.ts";
import { consumerRunFields, runConsumer, type ConsumerRunOptions } from "../../sqs/consumer.ts";
import { handleNotification, handlerDeps, type NotificationDeps } from "./handle-notification.ts";
import type { OutgoingQueue } from "./outgoing-queue.ts";
import { decodeSqsMessage, type QueueItem } from "./sqs-message.ts";
import { startProgress } from "../../core/progress.ts";

export const COUNTED = ["Bounce", "Complaint", "Delivery", "invalid", "failed", "forwardFailed"] as const;
export type QueueCounts = Record<(typeof COUNTED)[number], number>;

/** `concurrency` is per source queue. */
export interface EmailQueuesOptions extends ConsumerRunOptions {
  /** Distinct source queue URLs. */
  sources: readonly string[];
  drain: boolean;
  deadLetterQueue?: OutgoingQueue;
  /** How often the progress line is logged; 60 s in production. */
  statsIntervalMs?: number;
}

export interface EmailQueuesDeps extends NotificationDeps {
  sqs: SQSClient;
}

const INFO = 3; // consola's level number for info: below it, per-message lines are not built at all

// Receive calls under way per source queue: the next batch is on its way while one is being dispatched
// (3-10% more notifications/s in bench/email-queues.ts than one receiver with the same concurrency).
const RECEIVERS_PER_QUEUE = 2;

// Message attributes on a dead-lettered copy; the reason is cut so the copy stays within SQS's limits.
const MAX_REASON_ATTRIBUTE = 500;

async function deadLetter(message: Message, reason: string, queueUrl: string, dlq: OutgoingQueue | undefined, deps: EmailQueuesDeps): Promise<boolean> {
  if (!dlq) return false;
  if (!message.Body) {
    deps.log.warn("Not copied to the dead-letter queue: the message has no body", { messageId: message.MessageId });
    return false;
  }
  try {
    const id = await dlq.send(message.Body, {
      attributes: { reason: reason.slice(0, MAX_REASON_ATTRIBUTE), sourceQueue: queueUrl, sourceMessageId: message.MessageId ?? "" },
    });
    deps.metrics.incr("dlq.copied");
    deps.log.info("Copied to the dead-letter queue", { messageId: message.MessageId, deadLetterMessageId: id });
    return true;
  } catch (error) {
    deps.metrics.incr("dlq.failed");
    // Keep the message: deleting it now would drop it without a copy. It comes back after its visibility timeout.
    throw new TransientError(`Could not copy an invalid notification to the dead-letter queue: ${(error as Error)?.message ?? error}`, { cause: error });
  }
}

/** Consumes every source until `signal` aborts (or, with `drain`, until each is empty). Returns the counts. */
export async function runEmailQueues(deps: EmailQueuesDeps, options: EmailQueuesOptions): Promise<QueueCounts> {
  const { log, metrics } = deps;
  const handling = handlerDeps(deps);
  const now = deps.now ?? Date.now;
  const counts: QueueCounts = { Bounce: 0, Complaint: 0, Delivery: 0, invalid: 0, failed: 0, forwardFailed: 0 };
  const progress = startProgress({
    log, label: "Notifications processed", counts, keys: COUNTED, rateOf: ["Bounce", "Complaint", "Delivery", "invalid"], intervalMs: options.statsIntervalMs ?? 60_000, now,
  });

  const consume = (queueUrl: string) =>
    runConsumer<QueueItem>({
      sqs: deps.sqs,
      queueUrl,
      log,
      ...consumerRunFields(options),
      receivers: RECEIVERS_PER_QUEUE,
      handler: {
        decode: (message) => decodeSqsMessage(message, queueUrl, (note) => log.info(note, { messageId: message.MessageId })),
        handle: async (item, message, signal?: AbortSignal) => {
          try {
            if (item.kind === "invalid") {
              const deadLettered = await deadLetter(message, item.reason, queueUrl, options.deadLetterQueue, deps);
              // The original's log line for a message it could not parse, and what we did about it.
              log.error("Error receiving from queue", { url: queueUrl, messageId: message.MessageId, reason: item.reason, errno: 103, deadLettered, deleted: true });
              metrics.incr("notification.invalid", 1, { source: "sqs" });
              counts.invalid += 1;
              return;
            }
            const n = item.notification;
            if (log.level >= INFO) log.info("Successfully parsed SQS message", { queue: queueUrl, messageId: message.MessageId, receipt_handle: message.ReceiptHandle, notification_type: n.notificationType });
            const handled = await handleNotification(n, handling, { source: "sqs", messageId: message.MessageId, queue: queueUrl }, signal);
            if (deps.notificationQueue && !handled.forwarded) counts.forwardFailed += 1;
            counts[n.notificationType] += 1;
          } catch (error) {
            counts.failed += 1;
            metrics.incr("notification.failed");
            throw error;
          }
        },
      },
    });

  try {
    await Promise.all(options.sources.map(consume));
  } finally {
    progress.stop();
  }
  return counts;
}
