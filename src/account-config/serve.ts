// `account-config serve`: the HTTP read API in front of the sync loop. HTTP answers at once (data routes
// say 503 not_ready until the first full load), the loop loads with backoff while the database is
// unreachable, and a stop finishes in-flight requests and the refresh in flight within the bound.
import { VERSION } from "../core/version.ts";
import type { ToolContext } from "../runtime/tool-spec.ts";
import { createSql, type Sql } from "../db/client.ts";
import type { VersionInfo } from "../http/dockerflow.ts";
import { serve, stopGracefully } from "../http/serve.ts";
import { createConfigApp } from "./api.ts";
import { AccountConfigCache } from "./cache.ts";
import { AccountConfigRunner } from "./runner.ts";
import { checkAccountConfigSchema } from "./schema-check.ts";
import type { ServeSettings } from "./settings.ts";
import { VisscoreChecker } from "./visscore.ts";
import { untilAborted } from "../core/abort.ts";

export interface ServeResources {
  /** The client LISTEN runs on (postgres.js gives it one dedicated connection), when LISTEN is on. */
  listen?: { sql: Sql; applicationName: string };
  close(): Promise<void>;
}

/** A LISTEN client named uniquely, so the loop can find its session in pg_stat_activity. */
export function createServeResources(settings: ServeSettings): ServeResources {
  if (!settings.listen) return { close: async () => {} };
  const applicationName = `account-config-listen-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const sql = createSql(settings.listenUrl, { max: 1, applicationName });
  return { listen: { sql, applicationName }, close: () => sql.end({ timeout: 1 }) };
}

const VERSION_INFO: VersionInfo = { build: "TBD", commit: "TBD", source: "https://github.com/mozilla/fxa-ops-toolkit", version: VERSION };


export async function runServe(ctx: ToolContext<ServeSettings> & { resources: ServeResources }): Promise<void> {
  const { settings, log, sql } = ctx;
  const sqs = (ctx as { sqs?: import("@aws-sdk/client-sqs").SQSClient }).sqs;
  const visscore =
    settings.visscoreCheck && sqs
      ? new VisscoreChecker({ sqs, log: ctx.logger("visscore"), now: Date.now, checkRetryQueue: settings.visscoreCheckRetryQueue, ...(settings.visscoreQueueOwner ? { queueOwner: settings.visscoreQueueOwner } : {}) })
      : undefined;
  const cache = new AccountConfigCache({ fullReloadIntervalMs: settings.fullReloadIntervalMs, ...(visscore ? { visscore } : {}) });
  const listen = ctx.resources.listen;
  const runner = new AccountConfigRunner({
    cache,
    sql,
    log: ctx.logger("sync"),
    metrics: ctx.metrics,
    pollIntervalMs: settings.pollIntervalMs,
    checkSchema: checkAccountConfigSchema,
    ...(listen ? { listen: { ...listen, ...(settings.listenUrl === settings.database.url ? { probe: sql } : {}) } } : {}),
  });
  const app = createConfigApp({ runner, log: ctx.logger("http"), version: VERSION_INFO, staleAfterMs: settings.staleAfterMs, ...(settings.apiToken ? { apiToken: settings.apiToken } : {}), ...(settings.adminToken ? { adminToken: settings.adminToken } : {}) });
  const server = serve(app, { port: settings.port, hostname: settings.host });
  log.info("Listening", { host: settings.host, port: server.port, pollIntervalMs: settings.pollIntervalMs, listen: settings.listen });
  const started = runner.start().then(
    () => {
      if (!ctx.signal.aborted) log.info("Configuration loaded", { accounts: cache.state.accounts.size, generation: cache.generation });
      return undefined;
    },
    (error: unknown) => error,
  );
  // Runs until a signal, or until the first load fails for good (a missing schema, say).
  const fatal = await Promise.race([untilAborted(ctx.signal).then(() => undefined), started.then((error) => error ?? untilAborted(ctx.signal))]);
  const [, dropped] = await Promise.all([stopGracefully(server, ctx.abandon), runner.stop({ refreshWaitMs: 3_000, checksWaitMs: 1_500 })]);
  // A refresh still blocked is dropped: closing its connection rolls its read-only transaction back.
  if (dropped) await sql.end({ timeout: 0 });
  if (fatal) throw fatal;
  log.info("Stopped");
}
