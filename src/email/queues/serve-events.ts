// `email-queues serve`: the webhook server. Serves until the stop signal, then stops accepting
// connections and lets in-flight requests finish (until the runtime's abandon, then they are cut).
import { serve, stopGracefully } from "../../http/serve.ts";
import { versionInfo } from "../../http/version-file.ts";
import type { ToolContext } from "../../runtime/tool-spec.ts";
import type { EventsToolSettings } from "../queues-config.ts";
import { createEventsApp } from "./events-api.ts";
import { sqsOutgoingQueue } from "./outgoing-queue.ts";
import { untilAborted } from "../../core/abort.ts";


export async function serveEvents(ctx: ToolContext<EventsToolSettings>): Promise<void> {
  const { settings, log, sql, sqs } = ctx;
  const app = createEventsApp({
    sql,
    log,
    metrics: ctx.metrics,
    hmacKey: settings.hmacKey,
    wrapOutgoing: settings.wrapOutgoing,
    webhooks: settings.webhooks,
    version: versionInfo(),
    sqs,
    ...(settings.notificationQueue ? { notificationQueue: sqsOutgoingQueue(sqs, settings.notificationQueue) } : {}),
  });
  const server = serve(app, { port: settings.port, hostname: settings.host });
  log.info("Listening", { host: settings.host, port: server.port, webhooks: Object.keys(settings.webhooks) });
  await untilAborted(ctx.signal);
  await stopGracefully(server, ctx.abandon);
  log.info("Stopped");
}
