// The queue worker (spec/event-broker.md §1.2 steps 1–5, §5.1): each notification is checked, and the login
// it records or the fan-out it causes is written in one transaction with the login-store changes. The
// consumer deletes the SQS message only after that commit, so an event is never half-applied or lost.
import type { Message as SqsMessage, SQSClient } from "@aws-sdk/client-sqs";
import { randomUUID } from "node:crypto";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../core/metrics.ts";
import type { Sql } from "../db/client.ts";
import { consumerRunFields, runConsumer, type ConsumerRunOptions, type ConsumerStats } from "../sqs/consumer.ts";
import { narrowDeleteReason } from "./delete-reason.ts";
import { EVENT_TYPE, fanOut, type Publish } from "./fanout.ts";
import { decodeNotification, type Notification } from "./notification.ts";
import { deleteLogins, insertDeliveries, insertLogin, selectUserClients, supersedePending } from "./queries.ts";

/** What a fan-out needs from the running broker's caches. */
export interface FanoutSources {
  resourceServers(): readonly string[];
  capabilities(): ReadonlyMap<string, readonly string[]>;
}

export interface IntakeDeps {
  sql: Sql;
  sources: FanoutSources;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
  newJti?: () => string;
  /** Told after a commit that wrote deliveries (the delivery workers wake up). */
  onDeliveries?: (count: number) => void;
}

export type IntakeOutcome = "login" | "fanout" | "unwanted" | "invalid";

/** Events a later delete makes pointless to send (see supersedePending). */
const SUPERSEDED_BY_DELETE = ["passwordChange", "reset", "primaryEmailChanged", "profileDataChange"];

/** Thrown for a body that is not JSON: the message stays on the queue, as it did in the original. */
export class UnparseableMessageError extends Error {
  override name = "UnparseableMessageError";
}

/** Applies one notification. Idempotent for logins; a redelivered fan-out is delivered again (at least once). */
export async function applyNotification(notification: Notification, deps: IntakeDeps, messageId?: string): Promise<{ outcome: IntakeOutcome; deliveries: number }> {
  const { log, metrics } = deps;
  switch (notification.kind) {
    case "unparseable":
      metrics.incr("message.unparseable");
      throw new UnparseableMessageError(notification.reason);
    case "invalid":
      log.error("from.sqsMessage", { message: "Invalid message", event: notification.event, reason: notification.reason, messageId });
      metrics.incr("message.invalid");
      log.debug("unwantedMessage", { event: notification.event, messageId });
      return { outcome: "invalid", deliveries: 0 };
    case "unwanted":
      log.debug("unwantedMessage", { event: notification.event, reason: notification.reason, messageId });
      return { outcome: "unwanted", deliveries: 0 };
  }
  const start = deps.clock();
  const { message } = notification;
  metrics.timing("message.queueDelay", start - (message.timestamp || message.ts * 1000));
  log.debug("from.sqsMessage", { event: message.event, uid: notification.uid, messageId });
  if (notification.kind === "login") {
    const stored = await insertLogin(deps.sql, notification.uid, notification.clientId);
    metrics.incr("message.type", 1, { eventType: EVENT_TYPE.login });
    log.debug("storeLogin", { uid: notification.uid, clientId: notification.clientId, stored });
    metrics.timing("message.processing.total", deps.clock() - start);
    return { outcome: "login", deliveries: 0 };
  }
  const publishes = await writeFanout(notification, deps, start, messageId);
  const eventType = EVENT_TYPE[message.event as keyof typeof EVENT_TYPE];
  metrics.incr("message.type", 1, { eventType });
  if (notification.kind === "subscription") metrics.timing("message.sub.eventDelay", start - notification.message.eventCreatedAt * 1000);
  if (message.event === "delete") {
    const narrowed = narrowDeleteReason(message.reason);
    metrics.incr("message.deleteReason", 1, { reason: "reason" in narrowed ? narrowed.reason : narrowed.fallback });
  }
  for (const p of publishes) log.debug("publishedMessage", { clientId: p.clientId, event: message.event });
  metrics.timing("message.processing.total", deps.clock() - start);
  if (publishes.length > 0) deps.onDeliveries?.(publishes.length);
  return { outcome: "fanout", deliveries: publishes.length };
}

/** Reads the user's clients, writes the outbox rows and (for a delete) removes the user, in one transaction. */
async function writeFanout(notification: Exclude<Notification, { kind: "login" | "unwanted" | "invalid" | "unparseable" }>, deps: IntakeDeps, now: number, messageId?: string): Promise<Publish[]> {
  const newJti = deps.newJti ?? randomUUID;
  const nowDate = new Date(now);
  return await deps.sql.begin(async (tx) => {
    const sql = tx as unknown as Sql;
    const userClientIds = notification.kind === "appleMigration" ? [] : await selectUserClients(sql, notification.uid);
    const publishes = fanOut(notification, {
      userClientIds,
      resourceServers: deps.sources.resourceServers(),
      capabilities: deps.sources.capabilities(),
      now,
    });
    const isDelete = notification.kind === "generic" && notification.event === "delete";
    if (isDelete) {
      await supersedePending(sql, notification.uid, publishes.map((p) => p.clientId), SUPERSEDED_BY_DELETE, nowDate);
    }
    await insertDeliveries(
      sql,
      publishes.map((p) => ({ client_id: p.clientId, uid: notification.uid, event: String(p.json.event), payload: p.json, jti: newJti(), source_message_id: messageId ?? null })),
      nowDate,
    );
    if (isDelete) await deleteLogins(sql, notification.uid);
    return publishes;
  });
}

export interface IntakeOptions extends ConsumerRunOptions {
  queueUrl: string;
}

/** Consumes the service-notification queue until `signal` aborts (or, with `drain`, it is empty). */
export async function runIntake(sqs: SQSClient, deps: IntakeDeps, options: IntakeOptions): Promise<ConsumerStats> {
  return await runConsumer<Notification>({
    sqs,
    queueUrl: options.queueUrl,
    log: deps.log,
    ...consumerRunFields(options),
    handler: {
      decode: (message: SqsMessage) => decodeNotification(message.Body),
      // One user's events are applied in the order received (a login before the delete that follows it).
      orderingKey: (n) => ("uid" in n ? n.uid : undefined),
      handle: async (notification, message) => {
        try {
          await applyNotification(notification, deps, message.MessageId);
        } catch (error) {
          deps.log.error("processingError", { messageId: message.MessageId, error: (error as Error).message });
          throw error;
        }
      },
    },
  });
}
