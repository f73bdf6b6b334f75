// The event-broker console's pages (paths under /console) and what they are built from.
import type { Logger } from "../../core/logger.ts";
import { CONSOLE_BASE } from "../../console/context.ts";
import type { AdminDeps } from "../admin.ts";

export const BROKER_PAGES = {
  overview: "/overview",
  counters: "/counters.json",
  clients: "/clients",
  deliveries: "/deliveries",
} as const;

export interface BrokerConsoleDeps {
  admin: AdminDeps;
  /** BROKER_ADMIN_TOKEN: what operators sign in with. */
  token: string;
  log?: Logger;
  /** Epoch ms for sessions (tests inject it); the admin clock is used for the data. */
  now?: () => number;
  /** Endpoints this process's delivery workers have backed off now; absent when it runs none. */
  backedOff?: (now: number) => { clientId: string; failures: number; until: number }[];
}

/** A broker console page's link (the pages are routed relative to the console's mount point). */
export const consoleHref = (path: string) => CONSOLE_BASE + path;
