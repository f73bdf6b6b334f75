// The client registry held in memory (spec/event-broker.md §4.1): webhook URL, resource-server flag and
// delivery format per client. Kept current by PostgreSQL LISTEN/NOTIFY on broker_clients (a trigger
// announces every change), a full reload on every (re)connection of the listener, and a periodic full
// reload as a safety net. A failed reload keeps the last good copy (the original exited instead).
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { CLIENTS_CHANNEL } from "./migrations/index.ts";
import { selectClients, type DeliveryFormat } from "./queries.ts";

export interface Client {
  clientId: string;
  webhookUrl: string;
  isResourceServer: boolean;
  format: DeliveryFormat;
}

export interface ClientRegistry {
  get(clientId: string): Client | undefined;
  resourceServers(): readonly string[];
  all(): readonly Client[];
  /** Resolves once a reload that started after the call has finished. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface RegistryOptions {
  sql: Sql;
  log: Logger;
  /** The safety-net full reload; 60 s in production. */
  reloadIntervalMs: number;
  /** Do not LISTEN (the admin CLI reads once). */
  listen?: boolean;
}

export async function startClientRegistry(options: RegistryOptions): Promise<ClientRegistry> {
  const { sql, log } = options;
  let clients = new Map<string, Client>();
  let resourceServers: string[] = [];
  let running: Promise<void> | undefined;
  let again = false;

  const loadOnce = async () => {
    const rows = await selectClients(sql);
    clients = new Map(rows.map((r) => [r.client_id, { clientId: r.client_id, webhookUrl: r.webhook_url, isResourceServer: r.is_resource_server, format: r.delivery_format }]));
    resourceServers = rows.filter((r) => r.is_resource_server).map((r) => r.client_id);
    log.debug("listenForClientIdWebhooks", { clients: clients.size, resourceServers });
  };
  // Reloads are coalesced: a change announced during a reload causes exactly one more.
  const reload = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await loadOnce();
        } catch (error) {
          log.error("listenForClientIdWebhooks", { message: "Could not reload the client registry; keeping the last copy", error: (error as Error).message });
        }
      } while (again);
    })().finally(() => (running = undefined));
    return running;
  };

  let unlisten: (() => Promise<void>) | undefined;
  if (options.listen !== false) {
    // Listening starts before the first load, so no change between the two is missed.
    const meta = await sql.listen(CLIENTS_CHANNEL, () => void reload(), () => void reload());
    unlisten = meta.unlisten;
  }
  await loadOnce();
  const timer = setInterval(() => void reload(), options.reloadIntervalMs);
  timer.unref?.();

  return {
    get: (clientId) => clients.get(clientId),
    resourceServers: () => resourceServers,
    all: () => [...clients.values()],
    reload: async () => {
      if (running) await running;
      await reload();
    },
    async close() {
      clearInterval(timer);
      await unlisten?.();
      await running;
    },
  };
}
