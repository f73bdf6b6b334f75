// The SQS consumer loop every queue tool uses (DESIGN.md §5).
//
// Contract, in the error vocabulary of src/core/errors.ts:
// - `handle` resolves → the message is deleted;
// - `decode` or `handle` throws an InvalidInputError (input that can never be processed) → the message is
//   logged with that reason and its id, counted, and deleted: never redelivered forever;
// - `handle` throws anything else → the message stays on the queue and comes back after its visibility
//   timeout (the redrive policy decides when it is dead-lettered). A TransientError (database down, a
//   statement timeout) is expected and logged as a warning; any other error is logged with its stack.
//
// Stopping, in two stages: aborting `signal` stops receiving (at once, also out of a long poll, a backoff
// sleep or a wait for capacity); messages already received are finished, then the loop returns.
// Aborting `abandonSignal` means "the stop deadline is near: cancel in-flight work". Every handler gets
// it as its third argument; one that honours it throws, so its message stays on the queue and is handled
// again later (handlers are idempotent). Messages that have not started by then are not started.
//
// Throughput: batches of up to 10 are received while earlier ones are still being handled (by
// `receivers` receive loops, so one receive is under way while another batch is being dispatched), up to
// `concurrency` handlers run at once, and messages with the same ordering key run one at a time in the
// order they were received. Successful messages are deleted with one DeleteMessageBatch per batch.
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import { backoffDelay, sleep as defaultSleep, type BackoffPolicy } from "../core/backoff.ts";
import { createKeyedSequencer, createLimiter } from "../core/concurrency.ts";
import { InvalidInputError, TransientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

export interface ConsumerHandler<T> {
  /** Synchronous: turns a message into a work item, or throws InvalidInputError. */
  decode(message: Message): T;
  /** Items with the same key run one at a time, in the order they were received. */
  orderingKey?(item: T): string | undefined;
  /**
   * Resolve when done (the message is deleted); throw to leave it for redelivery. `signal` is the
   * consumer's `abandonSignal`: when it aborts, stop and throw.
   */
  handle(item: T, message: Message, signal: AbortSignal): Promise<void>;
}

export interface ConsumerObserver {
  /** After each message settles; `ms` runs from receipt to the end of its handler. */
  settled?(message: Message, ok: boolean, ms: number): void;
  /** A message refused as unprocessable (it is deleted), for the tool's own counters. */
  invalid?(message: Message, error: InvalidInputError): void;
}

/**
 * What happens to a message whose decode or handler threw: "delete" for unprocessable input (logged
 * with its reason and the message id), "leave" for anything else (logged for the operator).
 */
export function settleFailure(error: unknown, message: Pick<Message, "MessageId">, log: Logger): "delete" | "leave" {
  if (error instanceof InvalidInputError) {
    log.error(error.message, { messageId: message.MessageId });
    return "delete";
  }
  if (error instanceof TransientError) log.warn("Message left on the queue for redelivery", { messageId: message.MessageId, error: error.message });
  else log.error("Message left on the queue for redelivery", { messageId: message.MessageId, error });
  return "leave";
}

export interface ConsumerOptions<T> {
  sqs: SQSClient;
  queueUrl: string;
  handler: ConsumerHandler<T>;
  log: Logger;
  /** Aborting stops receiving; messages already received are finished, then the loop returns. */
  signal: AbortSignal;
  /** Aborting cancels in-flight work: handlers receive it; those not started yet are not started. Default: never. */
  abandonSignal?: AbortSignal;
  waitTimeSeconds: number;
  concurrency: number;
  /** Receive calls under way at once (default 1); they share the concurrency. */
  receivers?: number;
  /** Return once a receive comes back empty (for cron/systemd timers; with several receivers, once each has). */
  drain?: boolean;
  batchSize?: number;
  /** Delay after SQS errors and while handlers fail transiently. */
  backoff?: BackoffPolicy;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  observer?: ConsumerObserver;
}

/**
 * What each SQS-consuming tool takes from its command line and its stop, the same for all three: their
 * run options extend this and hand it over with consumerRunFields.
 */
export interface ConsumerRunOptions {
  signal: AbortSignal;
  /** The stop bound is nearly used up: messages not yet handled stay on the queue. */
  abandon?: AbortSignal;
  waitTimeSeconds: number;
  concurrency: number;
  drain?: boolean;
  /** Pause after SQS errors and failed messages (default 200 ms doubling to 20 s, with jitter). */
  backoff?: BackoffPolicy;
  observer?: ConsumerObserver;
}

/** The ConsumerOptions fields of a tool's run options (undefined ones left out). */
export function consumerRunFields(options: ConsumerRunOptions): Pick<ConsumerOptions<unknown>, "signal" | "abandonSignal" | "waitTimeSeconds" | "concurrency" | "drain" | "backoff" | "observer"> {
  const { signal, abandon, waitTimeSeconds, concurrency, drain, backoff, observer } = options;
  return {
    signal,
    waitTimeSeconds,
    concurrency,
    ...(abandon ? { abandonSignal: abandon } : {}),
    ...(drain !== undefined ? { drain } : {}),
    ...(backoff ? { backoff } : {}),
    ...(observer ? { observer } : {}),
  };
}

export interface ConsumerStats {
  received: number;
  deleted: number;
  /** Handler failures: those messages were left on the queue. */
  failed: number;
  /** Unprocessable messages (InvalidInputError): logged and deleted. */
  invalid: number;
  /** Messages left on the queue because `abandonSignal` aborted before or while they were handled. */
  abandoned: number;
  receiveErrors: number;
  deleteErrors: number;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, capMs: 20_000 };

export async function runConsumer<T>(options: ConsumerOptions<T>): Promise<ConsumerStats> {
  const { sqs, queueUrl, handler, log, signal } = options;
  const abandonSignal = options.abandonSignal ?? new AbortController().signal;
  const batchSize = options.batchSize ?? 10;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const stats: ConsumerStats = { received: 0, deleted: 0, failed: 0, invalid: 0, abandoned: 0, receiveErrors: 0, deleteErrors: 0 };

  const slots = createLimiter(Math.max(1, options.concurrency));
  // A message waits for the earlier ones of its key before it waits for a slot, so it never holds a slot idle.
  const order = createKeyedSequencer();
  const batches = new Set<Promise<void>>();
  // Received (or being received) but not yet settled; receiving pauses while this would exceed
  // concurrency + one batch per receiver.
  let outstanding = 0;
  const receivers = Math.max(1, options.receivers ?? 1);
  const maxOutstanding = Math.max(1, options.concurrency) + batchSize * receivers;
  // Receive loops waiting for capacity; every settled message wakes them all to look again.
  const waitingForCapacity = new Set<() => void>();
  const wakeReceivers = () => {
    for (const wake of waitingForCapacity) wake();
    waitingForCapacity.clear();
  };
  let failureStreak = 0;

  const runOne = async (item: T, message: Message): Promise<boolean> => {
    await slots.acquire();
    try {
      if (abandonSignal.aborted) {
        stats.abandoned += 1;
        log.warn("Stop deadline: message not started, left on the queue", { messageId: message.MessageId });
        return false;
      }
      await handler.handle(item, message, abandonSignal);
      failureStreak = 0;
      return true;
    } catch (error) {
      if (error instanceof InvalidInputError) return refuse(message, error);
      if (abandonSignal.aborted) {
        stats.abandoned += 1;
        log.warn("Stop deadline: message abandoned, left on the queue", { messageId: message.MessageId, error });
        return false;
      }
      failureStreak += 1;
      stats.failed += 1;
      settleFailure(error, message, log);
      return false;
    } finally {
      slots.release();
    }
  };

  /** Unprocessable: logged, counted and deleted (true: delete it). */
  const refuse = (message: Message, error: InvalidInputError): boolean => {
    stats.invalid += 1;
    settleFailure(error, message, log);
    options.observer?.invalid?.(message, error);
    return true;
  };

  const processMessage = (message: Message, receivedAt: number): Promise<boolean> => {
    let item: T;
    let key: string | undefined;
    try {
      item = handler.decode(message);
      key = handler.orderingKey?.(item);
    } catch (error) {
      if (error instanceof InvalidInputError) return Promise.resolve(refuse(message, error));
      // Not a verdict on the message (a bug in decode): keep it rather than lose it.
      stats.failed += 1;
      log.error("Could not decode message; left on the queue", { messageId: message.MessageId, error });
      return Promise.resolve(false);
    }
    return order.run(key, () => runOne(item, message)).then((ok) => {
      options.observer?.settled?.(message, ok, performance.now() - receivedAt);
      return ok;
    });
  };

  const deleteHandled = async (messages: Message[]): Promise<void> => {
    if (messages.length === 0) return;
    try {
      const result = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      const failedEntries = result.Failed ?? [];
      stats.deleted += messages.length - failedEntries.length;
      for (const failure of failedEntries) {
        stats.deleteErrors += 1;
        // The message comes back and is handled again; handlers are idempotent, so nothing is lost.
        log.warn("Could not delete a handled message", { messageId: messages[Number(failure.Id)]?.MessageId, code: failure.Code });
      }
    } catch (error) {
      stats.deleteErrors += messages.length;
      log.warn("Could not delete handled messages; they will be redelivered", { count: messages.length, error });
    }
  };

  const dispatchBatch = (messages: Message[]): void => {
    const receivedAt = performance.now();
    outstanding += messages.length;
    const results = messages.map((m) =>
      processMessage(m, receivedAt).finally(() => {
        outstanding -= 1;
        wakeReceivers();
      }),
    );
    const batch = Promise.all(results).then((oks) => deleteHandled(messages.filter((_, i) => oks[i])));
    batches.add(batch);
    void batch.finally(() => batches.delete(batch));
  };

  const waitForCapacity = () => new Promise<void>((resolve) => waitingForCapacity.add(resolve));
  signal.addEventListener("abort", wakeReceivers, { once: true });

  const receiveLoop = async () => {
    let receiveFailures = 0;
    while (!signal.aborted) {
      if (outstanding + batchSize > maxOutstanding) {
        await waitForCapacity();
        continue;
      }
      if (failureStreak > 0) await sleep(backoffDelay(policy, failureStreak - 1, random), signal);
      if (signal.aborted) break;
      // Claimed for the call, so several receivers never overshoot the bound together.
      outstanding += batchSize;
      let messages: Message[] | undefined;
      let failure: unknown;
      try {
        const result = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: options.waitTimeSeconds,
          }),
          { abortSignal: signal },
        );
        messages = result.Messages ?? [];
      } catch (error) {
        failure = error;
      } finally {
        outstanding -= batchSize;
        wakeReceivers();
      }
      if (messages === undefined) {
        if (signal.aborted) break;
        stats.receiveErrors += 1;
        receiveFailures += 1;
        const delay = backoffDelay(policy, receiveFailures - 1, random);
        log.warn("Error receiving from SQS; backing off", { queueUrl, delayMs: delay, error: (failure as Error)?.message });
        await sleep(delay, signal);
        continue;
      }
      receiveFailures = 0;
      if (messages.length === 0) {
        if (options.drain) break;
        continue;
      }
      stats.received += messages.length;
      log.debug("Received messages", { count: messages.length });
      dispatchBatch(messages);
    }
  };
  await Promise.all(Array.from({ length: receivers }, receiveLoop));
  signal.removeEventListener("abort", wakeReceivers);
  while (batches.size > 0) await Promise.all([...batches]);
  return stats;
}
