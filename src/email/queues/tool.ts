// The email-queues tool behind its command line: what `email-queues` (the consumer) and `email-queues
// serve` (the webhook server, serve-events.ts) do with the context the tool runtime built for them.
import type { ToolContext } from "../../runtime/tool-spec.ts";
import { maskedQueuesSettings, type EventsToolSettings, type QueuesToolSettings } from "../queues-config.ts";
import { checkEmailSchema, EMAIL_TABLES } from "../schema-check.ts";
import { sqsOutgoingQueue } from "./outgoing-queue.ts";
import { checkQueuesSchema } from "./problem-records.ts";
import { runEmailQueues, type QueueCounts } from "./run-queues.ts";
import type { Sql } from "../../db/client.ts";

/** The original's startup line (secrets hidden), then what was set but is not used. */
function logStartup(ctx: ToolContext<QueuesToolSettings | EventsToolSettings>): void {
  ctx.log.info("Settings::new", { settings: maskedQueuesSettings(ctx.settings) });
  for (const notice of ctx.settings.notices) ctx.log.warn(notice);
}

/** Both commands need the email schema with email-queues' own migration applied. */
export async function checkQueuesToolSchema(sql: Sql): Promise<void> {
  await checkEmailSchema(sql, EMAIL_TABLES);
  await checkQueuesSchema(sql);
}

/** Consumes the source queues until stopped or drained. */
export async function runQueuesTool(ctx: ToolContext<QueuesToolSettings>): Promise<QueueCounts> {
  const { settings, log, sqs } = ctx;
  logStartup(ctx);
  log.info("Processing notifications", { sources: settings.sources, notification: settings.notificationQueue ?? "[not set]" });
  return await runEmailQueues(
    {
      sqs,
      sql: ctx.sql,
      log,
      metrics: ctx.metrics,
      hmacKey: settings.hmacKey,
      wrapOutgoing: settings.wrapOutgoing,
      ...(settings.notificationQueue ? { notificationQueue: sqsOutgoingQueue(sqs, settings.notificationQueue) } : {}),
    },
    {
      sources: settings.sources,
      waitTimeSeconds: settings.queueWaitTime,
      concurrency: settings.concurrency,
      drain: settings.drain,
      signal: ctx.signal,
      abandon: ctx.abandon,
      ...(settings.deadLetterQueue ? { deadLetterQueue: sqsOutgoingQueue(sqs, settings.deadLetterQueue) } : {}),
    },
  );
}

export async function runEventsTool(ctx: ToolContext<EventsToolSettings>): Promise<void> {
  logStartup(ctx);
  const { serveEvents } = await import("./serve-events.ts");
  await serveEvents(ctx);
}
