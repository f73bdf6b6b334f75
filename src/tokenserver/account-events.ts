// Applying account events to the tokenserver database (spec/tokenserver.md §3.4), and the queue
// consumer around it: the `process-account-events` tool minus its command line.
import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { InvalidInputError, TransientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { startProgress } from "../core/progress.ts";
import { isTransientDbError } from "../db/errors.ts";
import type { Metrics } from "../core/metrics.ts";
import type { ToolContext } from "../runtime/tool-spec.ts";
import { resolveQueueUrl } from "../sqs/client.ts";
import { consumerRunFields, runConsumer, type ConsumerRunOptions } from "../sqs/consumer.ts";
import type { AccountEventsSettings } from "./account-events-config.ts";
import { decodeAccountEvent, type AccountEvent } from "./account-event.ts";
import { pythonRepr } from "./python-text.ts";
import { createTokenserverRepository, type TokenserverRepository } from "./repository.ts";

export type AccountEventOutcome = AccountEvent["kind"];

export interface ApplyDeps {
  repo: TokenserverRepository;
  metrics: Metrics;
  log: Logger;
}

/**
 * Applies one decoded event. Idempotent: the same event twice leaves the same state as once.
 * An invalid event is counted and thrown as an InvalidInputError (the consumer logs it with the message
 * id and deletes it); a database failure worth retrying is a TransientError (the message stays queued);
 * other database errors propagate as they are (also left, for the redrive policy to decide).
 */
export async function applyAccountEvent(event: AccountEvent, deps: ApplyDeps, messageId?: string): Promise<Exclude<AccountEventOutcome, "invalid">> {
  const { metrics, log } = deps;
  switch (event.kind) {
    case "invalid":
      metrics.incr("invalid");
      throw new InvalidInputError(`Invalid account message: ${event.reason}`);
    case "unknown":
      log.warn(`Dropping unknown event type ${pythonRepr(event.eventType)}`, { messageId });
      metrics.incr("unknown");
      return "unknown";
    case "delete":
      log.info(`Processing account delete for ${pythonRepr(event.email)}`);
      await transient(deps.repo.retireUser(event.email));
      break;
    case "reset":
    case "passwordChange":
      log.info(`Processing ${event.kind === "reset" ? "account reset" : "password change"} for ${pythonRepr(event.email)}`);
      await transient(decrementGeneration(event.email, event.generation, deps));
      break;
  }
  metrics.incr(event.kind);
  return event.kind;
}

/** A database failure that will pass (connection lost, statement timeout, lock conflict) as a TransientError. */
async function transient<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isTransientDbError(error)) throw new TransientError(`database unavailable: ${(error as Error).message}`, { cause: error });
    throw error;
  }
}

/**
 * Stores generation - 1: FxA sends the new generation without the new client state, so storing it
 * exactly would make the first device that syncs with it look like it has the wrong keys. The
 * in-place update never moves a generation backwards and never touches replaced or retired rows.
 */
async function decrementGeneration(email: string, generation: bigint, deps: ApplyDeps): Promise<void> {
  const user = await deps.repo.getUser(email); // may allocate a new row when the current one was replaced
  if (!user) return;
  await deps.repo.updateUser(user, { generation: generation - 1n });
  deps.metrics.incr("decr_generation");
}

export const OUTCOMES = ["delete", "reset", "passwordChange", "unknown", "invalid", "failed"] as const;
export type OutcomeCounts = Record<(typeof OUTCOMES)[number], number>;

export interface ProcessAccountEventsOptions extends ConsumerRunOptions {
  queueUrl: string;
  drain: boolean;
  /** How often the progress line is logged; 60 s in production. */
  statsIntervalMs?: number;
}

export interface ProcessAccountEventsDeps extends ApplyDeps {
  sqs: SQSClient;
  now?: () => number;
}

/** Consumes the queue until `signal` aborts (or, with `drain`, until it is empty). Returns the counts. */
export async function processAccountEvents(deps: ProcessAccountEventsDeps, options: ProcessAccountEventsOptions): Promise<OutcomeCounts> {
  const now = deps.now ?? Date.now;
  const counts: OutcomeCounts = { delete: 0, reset: 0, passwordChange: 0, unknown: 0, invalid: 0, failed: 0 };
  const progress = startProgress({ log: deps.log, label: "Account events processed", counts, keys: OUTCOMES, intervalMs: options.statsIntervalMs ?? 60_000, now });
  try {
    await runConsumer<AccountEvent>({
      sqs: deps.sqs,
      queueUrl: options.queueUrl,
      log: deps.log,
      ...consumerRunFields(options),
      handler: {
        decode: (message: Message) => decodeAccountEvent(message.Body),
        // Events for one account are applied in the order they arrived.
        orderingKey: (event) => (event.kind === "invalid" ? undefined : event.email),
        handle: async (event, message) => {
          try {
            counts[await applyAccountEvent(event, deps, message.MessageId)] += 1;
          } catch (error) {
            counts[error instanceof InvalidInputError ? "invalid" : "failed"] += 1;
            throw error;
          }
        },
      },
    });
  } finally {
    progress.stop();
  }
  return counts;
}

/** The `process-account-events` tool: consume the queue named in the settings until stopped or drained. */
export async function runAccountEventsTool(ctx: ToolContext<AccountEventsSettings>): Promise<void> {
  const { settings, log } = ctx;
  log.info("Starting up..");
  const repo = createTokenserverRepository(ctx.sql, { spannerNodeId: settings.db.spannerNodeId, capacityReleaseRate: settings.db.capacityReleaseRate });
  log.info(`Processing account events from ${settings.queue}`);
  const queueUrl = await resolveQueueUrl(ctx.sqs, settings.queue);
  await processAccountEvents(
    { sqs: ctx.sqs, repo, metrics: ctx.metrics, log },
    { queueUrl, waitTimeSeconds: settings.queueWaitTime, concurrency: settings.concurrency, drain: settings.drain, signal: ctx.signal, abandon: ctx.abandon },
  );
}
