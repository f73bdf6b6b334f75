// The read API of account-config (spec/account-config.md §9). Everything is answered from memory: no
// route touches the database. Every JSON answer carries `Cache-Control: no-store`, the cache generation
// as its ETag and the config's age. Bad input is a 400 and an unknown account a 404, both in the error
// shape {code, error, message} with `error` the machine-readable kind ("unknown_account", "invalid_ip");
// nothing a client sends can make a 500. Connection strings appear only on the token-protected route.
// With an admin token, the operator console (./console/) is served under /console from the same cache.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { Logger } from "../core/logger.ts";
import { CONSOLE_BASE } from "../console/context.ts";
import { consoleRoutes } from "../console/routes.tsx";
import { bearerToken } from "../http/bearer-token.ts";
import { dockerflowRoutes, type VersionInfo } from "../http/dockerflow.ts";
import { errorFunnel } from "../http/error-funnel.ts";
import type { HttpProblem } from "../http/problem.ts";
import { requestFields, requestLog } from "../http/request-log.ts";
import type { ServerEnv } from "../http/serve.ts";
import { CONFIG_CONSOLE_NAV, configConsolePages } from "./console/pages.ts";
import { heartbeatReport } from "./heartbeat.ts";
import { lookupIp, lookupVisitor, type LookupError } from "./lookups.ts";
import type { AccountRow } from "./model.ts";
import type { AccountConfigRunner } from "./runner.ts";
import { accountSummary, accountView, childAccounts } from "./view.ts";

/** An account reference longer than this is neither an id nor a token (tokens are at most 63 characters). */
const MAX_REF = 64;

export class ConfigApiError extends Error implements HttpProblem {
  override name = "ConfigApiError";
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }

  toJSON() {
    return { code: this.status, error: this.kind, message: this.message };
  }
}

const STATUS_OF: Record<LookupError["error"], number> = { unknown_account: 404, invalid_ip: 400, invalid_visitor: 400 };

export interface ConfigAppDeps {
  runner: AccountConfigRunner;
  log: Logger;
  version: VersionInfo;
  staleAfterMs: number;
  /** Unset: the connections route answers 404. */
  apiToken?: string;
  /** ACCOUNT_CONFIG_ADMIN_TOKEN: operators sign in to the console (/console) with it; unset, there is none. */
  adminToken?: string;
}

export function createConfigApp(deps: ConfigAppDeps): Hono<{ Bindings: ServerEnv }> {
  const { runner, log } = deps;
  const cache = runner.cache;
  const app = new Hono<{ Bindings: ServerEnv }>();
  const funnel = errorFunnel({
    internal: (error) => new ConfigApiError(500, "internal", error instanceof Error ? error.message : String(error)),
    onProblem(problem, c, cause) {
      const fields = { ...requestFields(c), ...problem.toJSON() };
      if (problem.status >= 500) log.error("Request errored", { ...fields, cause });
      else log.info("Request refused", fields);
    },
  });
  app.onError(funnel.onError);
  app.notFound(funnel.notFound);
  app.use("*", requestLog(log));

  const headers = () => ({
    "cache-control": "no-store",
    etag: `"${cache.generation}"`,
    "x-config-age-ms": String(cache.lastRefresh ? Math.max(0, cache.now() - cache.lastRefresh.at) : -1),
  });
  const json = (c: Context, body: unknown, status: 200 | 503 = 200) => c.json(body, status, headers());

  /** Data routes wait for the first full load. */
  const whenReady: MiddlewareHandler = async (_, next) => {
    if (!cache.ready) throw new ConfigApiError(503, "not_ready", "the first load of the configuration has not finished");
    await next();
  };
  app.use("/accounts", whenReady);
  app.use("/accounts/*", whenReady);

  const account = (ref: string): AccountRow => {
    if (ref.length > MAX_REF) throw new ConfigApiError(400, "invalid_account", `an account reference is at most ${MAX_REF} characters`);
    const found = cache.state.account(ref);
    if (!found) throw new ConfigApiError(404, "unknown_account", `no account ${JSON.stringify(ref)}`);
    return found;
  };
  const lookupAnswer = <T extends object>(c: Context, result: T | LookupError, what: string) => {
    if ("error" in result) throw new ConfigApiError(STATUS_OF[result.error], result.error, `${result.error.replace("_", " ")}: ${what}`);
    return json(c, result);
  };

  app.get("/accounts", (c) => json(c, accountSummary(cache.state, cache.now())));
  app.get("/accounts/:ref", (c) => {
    const found = account(c.req.param("ref"));
    return json(c, accountView(cache.state, found, { now: cache.now(), lastUpdated: true, visscore: cache.visscore?.states.get(found.id) }));
  });
  app.get("/accounts/:ref/children", (c) => {
    const found = account(c.req.param("ref"));
    return json(c, childAccounts(cache.state, found.id).map((child) => ({ id: child.id, token: child.token })));
  });
  app.get("/accounts/:ref/blacklist/ip/:ip", (c) => {
    const ref = c.req.param("ref");
    account(ref);
    return lookupAnswer(c, lookupIp(cache.state, ref, c.req.param("ip")), "not an IPv4 or IPv6 address");
  });
  app.get("/accounts/:ref/blacklist/visitor/:vid", (c) => {
    const ref = c.req.param("ref");
    account(ref);
    return lookupAnswer(c, lookupVisitor(cache.state, ref, c.req.param("vid")), "a visitor id is 32 letters and digits");
  });
  if (deps.apiToken) {
    app.use("/accounts/:ref/connections", bearerToken(deps.apiToken));
    app.get("/accounts/:ref/connections", (c) => json(c, account(c.req.param("ref")).connection_strings));
  }

  if (deps.adminToken) {
    const pages = configConsolePages({ cache, staleAfterMs: deps.staleAfterMs });
    app.route(CONSOLE_BASE, consoleRoutes({ tool: "account-config", token: deps.adminToken, nav: CONFIG_CONSOLE_NAV, pages, log }));
  }

  app.get("/__heartbeat__", (c) => {
    const report = heartbeatReport(runner, deps.staleAfterMs);
    return json(c, report.body, report.httpStatus as 200 | 503);
  });
  app.route("/", dockerflowRoutes({ heartbeat: async () => {}, version: deps.version }));
  return app;
}
