// One line when a request starts and one when it finishes, with the fields the original logged
// (spec/email.md §10): agent, remoteAddressChain, path, method, then status_code and status_msg.
// Query parameters that carry secrets (a webhook's ?auth=) can be named to be logged as [hidden].
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

export interface RequestLogOptions {
  /** Query parameters whose values are never logged. */
  redactQuery?: readonly string[];
}

function redact(path: string, names: readonly string[]): string {
  const query = path.indexOf("?");
  if (query === -1) return path;
  const params = path.slice(query + 1).split("&").map((pair) => {
    const eq = pair.indexOf("=");
    const name = decodeURIComponentSafe(eq === -1 ? pair : pair.slice(0, eq));
    return names.includes(name) ? `${pair.slice(0, eq === -1 ? pair.length : eq)}=[hidden]` : pair;
  });
  return `${path.slice(0, query)}?${params.join("&")}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a malformed escape is not one of our names either way
  }
}

export function requestFields(c: Context<{ Bindings: ServerEnv }>, options: RequestLogOptions = {}): Record<string, unknown> {
  const url = c.req.url;
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const path = pathStart === -1 ? "/" : url.slice(pathStart);
  return {
    agent: c.req.header("user-agent"),
    remoteAddressChain: c.req.header("x-forwarded-for") ?? c.env?.peer?.(),
    path: options.redactQuery?.length ? redact(path, options.redactQuery) : path,
    method: c.req.method,
    ...(c.var.caller !== undefined ? { caller: c.var.caller } : {}),
  };
}

export function requestLog(log: Logger, options: RequestLogOptions = {}): MiddlewareHandler<{ Bindings: ServerEnv }> {
  return async function requestLog(c, next) {
    if (log.level < INFO) return next(); // building the fields costs more than the request below info
    const fields = requestFields(c, options);
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
