// The broker's HTTP face on PUBSUB_PROXY_PORT: Dockerflow, the JWKS relying parties verify SETs with,
// the compatibility proxy endpoint, and the admin API and operator console (only when BROKER_ADMIN_TOKEN is set).
import { Hono } from "hono";
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { dockerflowRoutes, type VersionInfo } from "../http/dockerflow.ts";
import { errorFunnel } from "../http/error-funnel.ts";
import { HttpError } from "../http/problem.ts";
import type { AdminDeps } from "./admin.ts";
import { CONSOLE_BASE } from "../console/context.ts";
import { adminRoutes } from "./admin-api.ts";
import { brokerConsole } from "./console/broker-console.tsx";
import type { BrokerConsoleDeps } from "./console/paths.ts";
import { proxyHandler, type ProxyDeps } from "./proxy.ts";

export interface BrokerAppDeps {
  sql: Sql;
  log: Logger;
  version: VersionInfo;
  proxy: ProxyDeps;
  admin: AdminDeps;
  adminToken?: string;
  /** This process's backed-off endpoints, for the console (absent when it runs no delivery workers). */
  backedOff?: BrokerConsoleDeps["backedOff"];
  /** The console's session clock (tests); the admin clock is used for data. */
  consoleNow?: () => number;
}

export function createBrokerApp(deps: BrokerAppDeps): Hono {
  const { log } = deps;
  const funnel = errorFunnel({
    internal: () => new HttpError(500, "Internal Server Error"),
    onProblem: (problem, c, cause) => {
      if (problem.status >= 500) log.error("Request failed", { method: c.req.method, path: c.req.path, error: cause });
      else log.debug("Request refused", { method: c.req.method, path: c.req.path, status: problem.status, message: problem.message });
    },
  });
  const jwks = JSON.stringify({ keys: [deps.proxy.key.publicJwk] });
  const app = new Hono()
    .route(
      "/",
      dockerflowRoutes({
        heartbeat: async () => {
          await deps.sql`select 1`;
        },
        version: deps.version,
      }),
    )
    .get("/.well-known/jwks.json", () => new Response(jwks, { headers: { "content-type": "application/json", "cache-control": "public, max-age=300" } }))
    .post("/v1/proxy/:clientId", proxyHandler(deps.proxy));
  if (deps.adminToken) {
    app.route("/v1/admin", adminRoutes(deps.adminToken, deps.admin));
    app.route(CONSOLE_BASE, brokerConsole({ admin: deps.admin, token: deps.adminToken, log, now: deps.consoleNow, backedOff: deps.backedOff }));
  }
  app.onError(funnel.onError);
  app.notFound(funnel.notFound);
  return app;
}
