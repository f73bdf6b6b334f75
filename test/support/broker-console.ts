// The event-broker's HTTP app with its operator console, on a real database, with real delivery workers
// calling a loopback relying party, served on loopback (for the browser) and usable in process (app.request).
import type { AdminDeps } from "../../src/broker/admin.ts";
import * as admin from "../../src/broker/admin.ts";
import { createBrokerApp } from "../../src/broker/app.ts";
import { startDeliveryWorkers, type DeliveryWorkers } from "../../src/broker/delivery.ts";
import { insertDeliveries } from "../../src/broker/queries.ts";
import type { Client } from "../../src/broker/registry.ts";
import { loadSigningKey } from "../../src/broker/set.ts";
import { serve, type RunningServer } from "../../src/http/serve.ts";
import { keys, migrateBroker } from "./broker.ts";
import { captureLog } from "./log.ts";
import { recordingMetrics } from "./metrics.ts";
import type { TestDatabase } from "./postgres.ts";

export const CONSOLE_TOKEN = "console-admin-token-0123456789abcdef";

export interface BrokerConsoleFixture {
  app: ReturnType<typeof createBrokerApp>;
  admin: AdminDeps;
  workers?: DeliveryWorkers;
  log: ReturnType<typeof captureLog>;
  /** The console's session clock: tests move it to expire sessions. */
  sessionNow: { value: number };
  url: string;
  /** Registers a client (broker_clients, as `clients set` does) and tells the workers about it. */
  addClient(clientId: string, webhookUrl: string): Promise<void>;
  /** Writes deliveries into the outbox (as the intake's fan-out does) and wakes the workers. */
  enqueue(clientId: string, uid: string, count: number, event?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startBrokerConsole(db: TestDatabase, options: { workers: boolean; maxAgeMs?: number }): Promise<BrokerConsoleFixture> {
  await migrateBroker(db.sql);
  const key = await loadSigningKey(keys().privateJwk);
  const table = new Map<string, Client>();
  const log = captureLog("debug");
  const metrics = recordingMetrics();
  const stopWorkers = new AbortController();
  const sessionNow = { value: Date.now() };
  const workers = options.workers
    ? startDeliveryWorkers(
        { sql: db.sql, clients: { get: (id) => table.get(id) }, key, issuer: "https://accounts.firefox.com", log: log.log, metrics, clock: Date.now },
        // maxAgeMs 0 by default: a failed attempt makes the delivery dead at once, as after a long outage.
        { concurrency: 4, timeoutMs: 2_000, maxAgeMs: options.maxAgeMs ?? 0, allowInsecureWebhooks: true, pollMs: 50, signal: stopWorkers.signal, health: { threshold: 1000, baseMs: 1000, capMs: 1000 } },
      )
    : undefined;
  const adminDeps: AdminDeps = { sql: db.sql, clock: Date.now, allowInsecureWebhooks: true, onReplay: () => workers?.wake() };
  const app = createBrokerApp({
    sql: db.sql,
    log: log.log,
    version: { build: "b", commit: "c", source: "s", version: "v" },
    adminToken: CONSOLE_TOKEN,
    admin: adminDeps,
    backedOff: workers ? (now) => workers.health.open(now) : undefined,
    consoleNow: () => sessionNow.value,
    proxy: {
      clients: { get: (id) => table.get(id) },
      key,
      issuer: "https://accounts.firefox.com",
      log: log.log,
      metrics,
      clock: Date.now,
      authenticate: false,
      verificationToken: "unused",
      timeoutMs: 2_000,
      allowInsecureWebhooks: true,
    },
  });
  const server: RunningServer = serve(app, { hostname: "127.0.0.1", port: 0 });
  return {
    app,
    admin: adminDeps,
    workers,
    log,
    sessionNow,
    url: `http://127.0.0.1:${server.port}`,
    async addClient(clientId, webhookUrl) {
      const view = await admin.setClient(adminDeps, { clientId, webhookUrl });
      table.set(clientId, { clientId, webhookUrl: view.webhookUrl, isResourceServer: view.resourceServer, format: view.format });
    },
    async enqueue(clientId, uid, count, event = "passwordChange") {
      const now = Date.now();
      const rows = Array.from({ length: count }, () => ({
        client_id: clientId,
        uid,
        event,
        payload: { changeTime: now, event, timestamp: now, uid },
        jti: crypto.randomUUID(),
        source_message_id: null,
      }));
      await insertDeliveries(db.sql, rows, new Date(now));
      workers?.wake();
    },
    async stop() {
      stopWorkers.abort();
      await workers?.done;
      await server.stop(true);
    },
  };
}
