// What happens to one valid notification, whether it came from SQS or from a provider's webhook
// (spec/email.md §9.4): record its bounces or complaints and read the metadata /send stored for its
// message (one statement; a database failure is transient and the caller keeps the notification), then
// forward the normalised notification (non-fatal: logged and counted, as in the original).
import type { Logger } from "../../core/logger.ts";

const INFO = 3; // consola's level number for info
import type { Metrics } from "../../core/metrics.ts";
import { TransientError } from "../../core/errors.ts";
import type { Sql } from "../../db/client.ts";
import type { SesNotification } from "./notification.ts";
import { coalescedNotificationStore, type NotificationStore } from "./notification-store.ts";
import type { OutgoingQueue } from "./outgoing-queue.ts";
import { outgoingNotification, wrapOutgoing } from "./outgoing.ts";
import { problemRows } from "./problem-records.ts";

export interface NotificationDeps {
  sql: Sql;
  log: Logger;
  metrics: Metrics;
  /** Keys message data (the same key as email-send). */
  hmacKey: string;
  /** Where normalised notifications go; absent: they are recorded only. */
  notificationQueue?: OutgoingQueue;
  /** Send `{"Type":"Notification","Message":…}` instead of the bare notification. */
  wrapOutgoing: boolean;
  now?: () => number;
}

/** What the handler works with: the notification deps with their database statements coalesced. */
export interface HandlerDeps extends Omit<NotificationDeps, "sql" | "hmacKey"> {
  store: NotificationStore;
}

export function handlerDeps(deps: NotificationDeps): HandlerDeps {
  const { sql, hmacKey, ...rest } = deps;
  return { ...rest, store: coalescedNotificationStore(sql, hmacKey) };
}

export interface Handled {
  /** Rows written now. */
  recorded: number;
  /** Rows already there (a redelivered notification). */
  duplicates: number;
  forwarded: boolean;
}

/** Where the notification came from, for logs and metric tags. */
export interface NotificationContext {
  source: "sqs" | "sendgrid" | "socketlabs";
  /** The SQS message id, when it came from SQS. */
  messageId?: string;
  queue?: string;
}

export async function handleNotification(n: SesNotification, deps: HandlerDeps, context: NotificationContext, signal?: AbortSignal): Promise<Handled> {
  const { store, log, metrics } = deps;
  // Building a line's fields costs more than handling below info, where they would be thrown away.
  const verbose = log.level >= INFO;
  const now = (deps.now ?? Date.now)();
  const rows = problemRows(n, now);
  let stored;
  try {
    stored = await store.recordAndRead(rows, n.mail.messageId, now);
  } catch (error) {
    throw new TransientError(`Could not record the ${n.notificationType.toLowerCase()}: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  const { recorded, metadata } = stored;
  const duplicates = rows.length - recorded;
  if (recorded > 0) metrics.incr("bounce.recorded", recorded, { type: n.notificationType });
  if (duplicates > 0) {
    metrics.incr("bounce.duplicate", duplicates, { type: n.notificationType });
    log.info("Notification already recorded", { ...context, mailMessageId: n.mail.messageId, duplicates });
  }
  metrics.incr("notification", 1, { type: n.notificationType, source: context.source });

  const queue = deps.notificationQueue;
  if (!queue) return { recorded, duplicates, forwarded: false };
  const body = outgoingNotification(n, metadata);
  try {
    const id = await queue.send(deps.wrapOutgoing ? wrapOutgoing(body) : body, { signal });
    if (verbose) log.info("Sent message to notification queue", { id, ...context });
    metrics.incr("forward.sent");
    return { recorded, duplicates, forwarded: true };
  } catch (error) {
    // Told to stop mid-send: keep the notification (it comes back; recording it again is a no-op).
    if (signal?.aborted) throw new TransientError("Stopped before the notification was forwarded", { cause: error });
    // Non-fatal, as in the original: the notification is recorded; only its copy for the auth server is lost.
    log.error("Error sending notification to queue", { ...context, url: queue.url, notificationType: n.notificationType, mailMessageId: n.mail.messageId, error: (error as Error)?.message ?? String(error) });
    metrics.incr("forward.failed");
    return { recorded, duplicates, forwarded: false };
  }
}
