// `process-account-events serve`: the webhook server (events-webhook.ts) until the stop signal, then
// no new connections and the requests in flight finish (until the runtime's abandon cuts them).
import { untilAborted } from "../core/abort.ts";
import { serve, stopGracefully } from "../http/serve.ts";
import { versionInfo } from "../http/version-file.ts";
import type { ToolContext } from "../runtime/tool-spec.ts";
import { createJwksCache } from "../secevent/jwks.ts";
import type { EventsServeSettings } from "./account-events-config.ts";
import { createEventsWebhookApp } from "./events-webhook.ts";
import { createTokenserverRepository } from "./repository.ts";

export async function runEventsServeTool(ctx: ToolContext<EventsServeSettings>): Promise<void> {
  const { settings, log, sql } = ctx;
  const { broker } = settings;
  const repo = createTokenserverRepository(sql, { spannerNodeId: settings.db.spannerNodeId, capacityReleaseRate: settings.db.capacityReleaseRate });
  // Fetched when the first SET comes, so the tokenserver may start before the broker.
  const keys = createJwksCache({ url: broker.jwksUrl, log: ctx.logger("jwks") });
  const app = createEventsWebhookApp({
    sql,
    repo,
    log,
    metrics: ctx.metrics,
    keys,
    issuer: broker.issuer,
    audience: broker.audience,
    domain: settings.emailDomain,
    version: versionInfo(),
  });
  const server = serve(app, { port: settings.port, hostname: settings.host });
  log.info("Listening", { host: settings.host, port: server.port, path: "/v1/events", issuer: broker.issuer, audience: broker.audience, jwks: broker.jwksUrl });
  await untilAborted(ctx.signal);
  await stopGracefully(server, ctx.abandon);
  log.info("Stopped");
}
