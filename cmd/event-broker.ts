// event-broker: account events from SQS to relying parties as signed Security Event Tokens, via a
// PostgreSQL outbox (nothing lost), plus the admin commands over the same database.
import type { ArgsDef } from "citty";
import { main } from "../src/runtime/tool.ts";
import { commonArgs, databaseArgs, defineTool, type MigrateSpec } from "../src/runtime/tool-spec.ts";
import type { AdminCommand } from "../src/broker/admin-cli.ts";
import type { Sql } from "../src/db/client.ts";

const migrate: MigrateSpec = {
  schemas: async () => [(await import("../src/broker/migrations/index.ts")).BROKER_SCHEMA],
  databaseUrl: async (env) => (await import("../src/broker/config.ts")).brokerDatabaseUrl(env),
};
const checkSchema = async (sql: Sql) => (await import("../src/broker/schema-check.ts")).checkBrokerSchema(sql);

const insecure = {
  "allow-insecure-webhooks": { type: "boolean", description: "Allow http webhooks on loopback addresses (development and tests)" },
} as const satisfies ArgsDef;

export const serve = defineTool({
  meta: { name: "event-broker", description: "Deliver FxA account events to relying parties as signed Security Event Tokens" },
  args: {
    host: { type: "string", valueHint: "ADDRESS", description: "Address to listen on (default: $PUBSUB_PROXY_HOST or 0.0.0.0)" },
    port: { type: "string", valueHint: "PORT", description: "Port to listen on; 0 picks a free one (default: $PUBSUB_PROXY_PORT or 8090)" },
    queue: { type: "string", valueHint: "URL", description: "Service-notification queue name or URL (default: $SERVICE_NOTIFICATION_QUEUE_URL)" },
    "queue-concurrency": { type: "string", valueHint: "N", default: "16", description: "Notifications handled at once (one user's stay in order)" },
    "queue-wait-time": { type: "string", valueHint: "SECONDS", default: "20", description: "SQS long-poll wait (0-20)" },
    "delivery-concurrency": { type: "string", valueHint: "N", default: "32", description: "Webhook calls in flight at once" },
    "delivery-timeout": { type: "string", valueHint: "SECONDS", default: "10", description: "Seconds to wait for a relying party's answer" },
    "delivery-max-age": { type: "string", valueHint: "SECONDS", description: "Retry a delivery this long, then mark it dead (default: $DELIVERY_MAX_AGE or 604800)" },
    "disable-queue-worker": { type: "boolean", description: "Do not consume the queue (default: $DISABLE_QUEUE_WORKER)" },
    "disable-delivery": { type: "boolean", description: "Do not deliver from the outbox (default: $DISABLE_DELIVERY)" },
    "disable-http": { type: "boolean", description: "Do not serve HTTP (default: $DISABLE_HTTP)" },
    ...insecure,
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/broker/config.ts")).serveSettings(input),
  checkSchema,
  run: async (ctx) => (await import("../src/broker/serve-tool.ts")).runBrokerServe(ctx),
  // Webhook calls in flight get 20 s, then they are cut; their rows are tried again when the lease ends.
  stopTimeoutMs: 30_000,
  inFlight: "in-flight notifications and webhook calls",
  migrate,
});

function adminCommand<A extends ArgsDef>(command: AdminCommand, description: string, args: A) {
  return defineTool({
    meta: { name: command, description },
    args: { ...args, ...databaseArgs, ...commonArgs },
    settings: async (input) => (await import("../src/broker/config.ts")).adminSettings(input as never),
    checkSchema,
    run: async (ctx) => (await import("../src/broker/admin-cli.ts")).runAdminCommand(command, ctx),
    stopTimeoutMs: 5_000,
    inFlight: "the command",
  });
}

const clientId = { type: "positional", required: true, description: "OAuth client id (hex)" } as const;

export const tool = defineTool({
  ...serve,
  commands: {
    serve,
    clients: {
      meta: { description: "Relying parties: set, list, remove" },
      commands: {
        set: adminCommand("clients set", "Register or change a relying party's webhook", {
          "client-id": clientId,
          "webhook-url": { type: "string", valueHint: "URL", required: true, description: "Where its SETs are POSTed (https)" },
          "resource-server": { type: "boolean", description: "Send it every user's events (not only its users')" },
          format: { type: "string", valueHint: "bearer|rfc8935", default: "bearer", description: "Bearer header and empty body, or RFC 8935 push" },
          ...insecure,
        }),
        list: adminCommand("clients list", "List the relying parties (JSON lines)", {}),
        remove: adminCommand("clients remove", "Remove a relying party", { "client-id": clientId }),
      },
    },
    deliveries: {
      meta: { description: "The outbox: list, retry" },
      commands: {
        list: adminCommand("deliveries list", "List deliveries, newest first, with every attempt (JSON lines)", {
          client: { type: "string", valueHint: "ID", description: "Only this client's" },
          uid: { type: "string", valueHint: "UID", description: "Only this user's" },
          status: { type: "string", valueHint: "STATUS", description: "pending, delivered, dead or superseded" },
          before: { type: "string", valueHint: "ID", description: "Only older than this delivery id (the next page)" },
          limit: { type: "string", valueHint: "N", default: "100", description: "At most this many" },
        }),
        retry: adminCommand("deliveries retry", "Make a delivery due again, or a client's dead ones (--client ID --dead)", {
          id: { type: "positional", required: false, description: "Delivery id" },
          client: { type: "string", valueHint: "ID", description: "Replay this client's deliveries" },
          dead: { type: "boolean", description: "With --client: its dead deliveries" },
          since: { type: "string", valueHint: "TIME", description: "With --client --dead: only those that died since (ISO 8601, UTC without a zone)" },
        }),
      },
    },
    stats: adminCommand("stats", "Deliveries per client and status (JSON)", {}),
  },
});

if (import.meta.main) await main(tool);
