// GET/DELETE /bounces/:email: what the send check sees for an address (its newest 20 records), which
// limit refuses it now and until when, and a way to clear the records (a support tool for "I fixed my
// mailbox, why do I still get nothing?"). Mounted only behind the bearer token; the work is
// suppression.ts's, shared with the operator console.
import { Hono } from "hono";
import type { ServerEnv } from "../http/serve.ts";
import { addressParam, addressReport, clearAddress, type SuppressionDeps } from "./suppression.ts";

/** Who clears through this route: whoever holds the operator token (it names nobody). */
export const TOKEN_ACTOR = "operator token";

export function suppressionRoutes(deps: SuppressionDeps): Hono<{ Bindings: ServerEnv }> {
  return new Hono<{ Bindings: ServerEnv }>()
    .get("/bounces/:email", async (c) => c.json(await addressReport(deps, addressParam(c.req.param("email")))))
    .delete("/bounces/:email", async (c) => c.json(await clearAddress(deps, addressParam(c.req.param("email")), TOKEN_ACTOR)));
}
