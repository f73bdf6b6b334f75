// The event-broker's operator console (issue 15), mounted on /console when BROKER_ADMIN_TOKEN is set:
// overview counters, clients with their endpoint health, delivery search with every attempt, retry and
// replay. The pages only render what ../admin.ts returns; the sign-in, session and CSRF are the shared
// console core's (src/console/routes.tsx).
import type { Hono } from "hono";
import type { ConsoleEnv } from "../../console/context.ts";
import { consoleRoutes } from "../../console/routes.tsx";
import { clientsPages } from "./clients-page.tsx";
import { deliveriesPages } from "./deliveries-page.tsx";
import { overviewPages } from "./overview-page.tsx";
import { BROKER_PAGES, consoleHref, type BrokerConsoleDeps } from "./paths.ts";

export const BROKER_NAV = [
  { href: consoleHref(BROKER_PAGES.overview), label: "Overview" },
  { href: consoleHref(BROKER_PAGES.clients), label: "Clients" },
  { href: consoleHref(BROKER_PAGES.deliveries), label: "Deliveries" },
];

export function brokerConsole(deps: BrokerConsoleDeps): Hono<ConsoleEnv> {
  return consoleRoutes({
    tool: "event-broker",
    token: deps.token,
    now: deps.now,
    log: deps.log,
    nav: BROKER_NAV,
    pages: (app) => {
      overviewPages(app, deps);
      clientsPages(app, deps);
      deliveriesPages(app, deps);
    },
  });
}
