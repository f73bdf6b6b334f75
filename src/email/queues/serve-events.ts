// `email-queues serve`: the webhook server behind its command line. Waits for the database (refusing to
// start without the schema), serves until the signal, then stops accepting connections and lets
// in-flight requests finish (bounded, then their connections are closed).
import { existsSync, readFileSync } from "node:fs";
import { VERSION } from "../../core/version.ts";
import { waitForDatabase } from "../../db/wait-ready.ts";
import type { VersionInfo } from "../../http/dockerflow.ts";
import { serve } from "../../http/serve.ts";
import type { EventsSettings } from "../queues-config.ts";
import { checkEmailSchema } from "../schema-check.ts";
import { createEventsApp } from "./events-api.ts";
import { sqsOutgoingQueue } from "./outgoing-queue.ts";
import { checkQueuesSchema } from "./problem-records.ts";
import type { ToolDeps } from "./tool.ts";

const STOP_DEADLINE_MS = 10_000;

/** Dockerflow: a version.json in the working directory (/app in the image) wins over the built-in one. */
function versionInfo(): VersionInfo {
  const fallback = { build: "TBD", commit: "TBD", source: "https://github.com/mozilla/fxa-ops-toolkit", version: VERSION };
  if (!existsSync("version.json")) return fallback;
  return { ...fallback, ...(JSON.parse(readFileSync("version.json", "utf8")) as Partial<VersionInfo>) };
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));

export async function serveEvents(deps: ToolDeps, settings: EventsSettings): Promise<void> {
  const { log, sql, signal } = deps;
  await waitForDatabase(async () => {
    await checkEmailSchema(sql);
    await checkQueuesSchema(sql);
  }, log, signal);
  if (signal.aborted) return;
  const app = createEventsApp({
    sql,
    log,
    metrics: deps.metrics,
    hmacKey: settings.hmacKey,
    wrapOutgoing: settings.wrapOutgoing,
    webhooks: settings.webhooks,
    version: versionInfo(),
    sqs: deps.sqs,
    ...(settings.notificationQueue ? { notificationQueue: sqsOutgoingQueue(deps.sqs, settings.notificationQueue) } : {}),
  });
  const server = serve(app, { port: settings.port, hostname: settings.host });
  log.info("Listening", { host: settings.host, port: server.port, webhooks: Object.keys(settings.webhooks) });
  await untilAborted(signal);
  const stopped = server.stop();
  const deadline = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), STOP_DEADLINE_MS).unref());
  if ((await Promise.race([stopped, deadline])) === "late") {
    log.warn(`Requests still running after ${STOP_DEADLINE_MS} ms; closing their connections`);
    await server.stop(true);
  }
  log.info("Stopped");
}
