// The email-queues tool behind its command line: what `email-queues` (the consumer) does with the
// dependencies cmd/ built for it. The webhook server (`email-queues serve`) is serve-events.ts.
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "../../core/logger.ts";
import type { Metrics } from "../../core/metrics.ts";
import type { Sql } from "../../db/client.ts";
import { waitForDatabase } from "../../db/wait-ready.ts";
import type { QueuesSettings } from "../queues-config.ts";
import { checkEmailSchema } from "../schema-check.ts";
import { sqsOutgoingQueue } from "./outgoing-queue.ts";
import { checkQueuesSchema } from "./problem-records.ts";
import { runEmailQueues, type QueueCounts } from "./run-queues.ts";

export interface ToolDeps {
  sqs: SQSClient;
  sql: Sql;
  log: Logger;
  metrics: Metrics;
  /** Aborted on SIGTERM/SIGINT: stop receiving, finish what is in flight. */
  signal: AbortSignal;
}

/** Waits for the database (refusing to start without the schema), then consumes until stopped or drained. */
export async function runQueuesTool(deps: ToolDeps, settings: QueuesSettings): Promise<QueueCounts | undefined> {
  const { log, sql, signal } = deps;
  await waitForDatabase(async () => {
    await checkEmailSchema(sql);
    await checkQueuesSchema(sql);
  }, log, signal);
  if (signal.aborted) return undefined;
  log.info("Processing notifications", { sources: settings.sources, notification: settings.notificationQueue ?? "[not set]" });
  return await runEmailQueues(
    {
      sqs: deps.sqs,
      sql,
      log,
      metrics: deps.metrics,
      hmacKey: settings.hmacKey,
      wrapOutgoing: settings.wrapOutgoing,
      ...(settings.notificationQueue ? { notificationQueue: sqsOutgoingQueue(deps.sqs, settings.notificationQueue) } : {}),
    },
    {
      sources: settings.sources,
      waitTimeSeconds: settings.queueWaitTime,
      concurrency: settings.concurrency,
      drain: settings.drain,
      signal,
      ...(settings.deadLetterQueue ? { deadLetterQueue: sqsOutgoingQueue(deps.sqs, settings.deadLetterQueue) } : {}),
    },
  );
}
