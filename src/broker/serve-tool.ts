// `event-broker serve`: the queue worker, the delivery workers and the HTTP server in one process, each
// switched off by its setting so they can be scaled separately; and their orderly stop.
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { ToolContext } from "../runtime/tool-spec.ts";
import { serve, stopGracefully, type RunningServer } from "../http/serve.ts";
import { versionInfo } from "../http/version-file.ts";
import { resolveQueueUrl } from "../sqs/client.ts";
import { createBrokerApp } from "./app.ts";
import { startCapabilities } from "./capabilities.ts";
import type { ServeSettings } from "./config.ts";
import { startDeliveryWorkers, type DeliveryWorkers } from "./delivery.ts";
import { runIntake } from "./intake.ts";
import { foldDeliveryCounts } from "./queries.ts";
import { startClientRegistry } from "./registry.ts";
import { startDeliveryRetention } from "./retention.ts";
import { untilAborted } from "../core/abort.ts";

const REGISTRY_RELOAD_MS = 60_000;
const PROGRESS_MS = 60_000;
const DELIVERY_POLL_MS = 1_000;


export async function runBrokerServe(ctx: ToolContext<ServeSettings>): Promise<void> {
  const { settings, sql, log, metrics } = ctx;
  const clock = Date.now;
  const registry = await startClientRegistry({ sql, log: ctx.logger("clients"), reloadIntervalMs: REGISTRY_RELOAD_MS });
  const capabilities = await startCapabilities({ ...settings.capabilities, log: ctx.logger("capabilities") });
  let workers: DeliveryWorkers | undefined;
  let server: RunningServer | undefined;
  try {
    if (settings.delivery) {
      workers = startDeliveryWorkers(
        { sql, clients: registry, key: settings.signing.key, issuer: settings.signing.issuer, log: ctx.logger("delivery"), metrics, clock },
        { ...settings.delivery, allowInsecureWebhooks: settings.allowInsecureWebhooks, pollMs: DELIVERY_POLL_MS, signal: ctx.signal, abandon: ctx.abandon },
      );
      const retention = startDeliveryRetention({ sql, log: ctx.logger("retention"), retention: settings.delivery.retention });
      ctx.signal.addEventListener("abort", () => retention.stop(), { once: true });
    }
    if (settings.http) {
      const app = createBrokerApp({
        sql,
        log: ctx.logger("http"),
        version: versionInfo(),
        adminToken: settings.http.adminToken,
        backedOff: workers ? (now) => (workers as DeliveryWorkers).health.open(now) : undefined,
        admin: { sql, clock, allowInsecureWebhooks: settings.allowInsecureWebhooks, onReplay: () => workers?.wake() },
        proxy: {
          clients: registry,
          key: settings.signing.key,
          issuer: settings.signing.issuer,
          log: ctx.logger("proxy"),
          metrics,
          clock,
          ...settings.pubsub,
          timeoutMs: settings.deliveryTimeoutMs,
          allowInsecureWebhooks: settings.allowInsecureWebhooks,
        },
      });
      server = serve(app, { hostname: settings.http.host, port: settings.http.port });
      log.info("Listening", { host: settings.http.host, port: server.port });
    }
    const progress = setInterval(() => {
      if (workers) log.info("Deliveries so far", { ...workers.counts, backedOff: workers.health.open(clock()).map((e) => e.clientId) });
      // Keeps the counters' change rows few even when nobody looks at the stats.
      if (workers) foldDeliveryCounts(sql).catch((error) => log.warn("Could not fold delivery counters", { error: (error as Error).message }));
    }, PROGRESS_MS);
    progress.unref?.();
    ctx.signal.addEventListener("abort", () => clearInterval(progress), { once: true });
    log.info("Event broker server started", { queueWorker: Boolean(settings.queue), delivery: Boolean(settings.delivery), http: Boolean(settings.http) });
    if (settings.queue) {
      const sqs = (ctx as unknown as { sqs: SQSClient }).sqs;
      const queueUrl = await resolveQueueUrl(sqs, settings.queue.url);
      const stats = await runIntake(
        sqs,
        { sql, sources: { resourceServers: () => registry.resourceServers(), capabilities: () => capabilities.get() }, metrics, log: ctx.logger("queue"), clock, onDeliveries: () => workers?.wake() },
        { queueUrl, waitTimeSeconds: settings.queue.waitTimeSeconds, concurrency: settings.queue.concurrency, signal: ctx.signal },
      );
      log.info("Queue worker stopped", { ...stats });
    } else {
      await untilAborted(ctx.signal);
    }
    if (server) await stopGracefully(server, ctx.abandon);
    if (workers) {
      await workers.done;
      log.info("Delivery workers stopped", { ...workers.counts });
    }
  } finally {
    capabilities.close();
    await registry.close();
  }
}
