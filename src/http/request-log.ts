// One line when a request starts and one when it finishes, with the fields the original logged
// (spec/email.md §10): agent, remoteAddressChain, path, method, then status_code and status_msg.
import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../core/logger.ts";
import type { ServerEnv } from "./serve.ts";
import { reasonPhrase } from "./reason-phrase.ts";

const INFO = 3; // consola's level number for info

declare module "hono" {
  interface ContextVariableMap {
    /** Who is calling, once authenticated: every log line of the request names it. */
    caller: string;
  }
}

export function requestFields(c: Context<{ Bindings: ServerEnv }>): Record<string, unknown> {
  const url = c.req.url;
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  return {
    agent: c.req.header("user-agent"),
    remoteAddressChain: c.req.header("x-forwarded-for") ?? c.env?.peer?.(),
    path: pathStart === -1 ? "/" : url.slice(pathStart),
    method: c.req.method,
    ...(c.var.caller !== undefined ? { caller: c.var.caller } : {}),
  };
}

export function requestLog(log: Logger): MiddlewareHandler<{ Bindings: ServerEnv }> {
  return async function requestLog(c, next) {
    if (log.level < INFO) return next(); // building the fields costs more than the request below info
    const fields = requestFields(c);
    log.info("Request started", fields);
    const started = performance.now();
    await next();
    log.info("Request finished", {
      ...fields,
      status_code: c.res.status,
      status_msg: reasonPhrase(c.res.status),
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
