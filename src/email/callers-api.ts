// GET /callers/:name/usage (issue 11): a caller's counts in the windows open now, next to its limits.
// Mounted only behind the operator token (FXA_EMAIL_AUTH_TOKEN), like /bounces.
import { Hono } from "hono";
import { InvalidInputError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import { HttpError } from "../http/problem.ts";
import type { ServerEnv } from "../http/serve.ts";
import { callerName, callerUsage } from "./callers.ts";
import { EmailError } from "./errors.ts";

export function callersRoutes(deps: { sql: Sql; log: Logger; now: () => number }): Hono<{ Bindings: ServerEnv }> {
  return new Hono<{ Bindings: ServerEnv }>().get("/callers/:name/usage", async (c) => {
    let name: string;
    try {
      name = callerName(c.req.param("name"));
    } catch (error) {
      if (error instanceof InvalidInputError) throw new EmailError("InvalidPayload", error.message);
      throw error;
    }
    const usage = await callerUsage(deps.sql, name, deps.now());
    if (!usage) throw new HttpError(404, `No caller named ${name}`);
    deps.log.info("Caller usage read", { name });
    return c.json(usage);
  });
}
