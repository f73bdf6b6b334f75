// The JSON admin API behind BROKER_ADMIN_TOKEN: a thin face over ./admin.ts (the CLI is the other).
import { Hono } from "hono";
import { bearerToken } from "../http/bearer-token.ts";
import { readBodyWithin } from "../http/body-limit.ts";
import { HttpError } from "../http/problem.ts";
import * as admin from "./admin.ts";

const MAX_BODY = 16 * 1024;

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const bytes = await readBodyWithin(request, MAX_BODY);
  if (bytes === undefined) throw new HttpError(413, `body larger than ${MAX_BODY} bytes`);
  if (bytes.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, "body is not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, "body must be a JSON object");
  return value as Record<string, unknown>;
}

export function adminRoutes(token: string, deps: admin.AdminDeps): Hono {
  return new Hono()
    .use("*", bearerToken(token))
    .get("/clients", async (c) => c.json(await admin.listClients(deps)))
    .put("/clients/:clientId", async (c) => {
      const body = await jsonBody(c.req.raw);
      return c.json(await admin.setClient(deps, { clientId: c.req.param("clientId"), webhookUrl: body.webhookUrl, resourceServer: body.resourceServer, format: body.format }));
    })
    .delete("/clients/:clientId", async (c) => {
      await admin.removeClient(deps, c.req.param("clientId"));
      return c.body(null, 204);
    })
    .get("/deliveries", async (c) => c.json(await admin.listDeliveries(deps, { clientId: c.req.query("client"), uid: c.req.query("uid"), status: c.req.query("status"), before: c.req.query("before"), limit: c.req.query("limit") })))
    .post("/deliveries/retry", async (c) => {
      const body = await jsonBody(c.req.raw);
      if (body.dead !== true) throw new HttpError(400, "only dead deliveries are replayed by client: send {\"client\": \"<id>\", \"dead\": true}");
      return c.json(await admin.retryDead(deps, body.client, body.since));
    })
    .get("/deliveries/:id", async (c) => c.json(await admin.getDelivery(deps, c.req.param("id"))))
    .post("/deliveries/:id/retry", async (c) => {
      await admin.retryOne(deps, c.req.param("id"));
      return c.body(null, 204);
    })
    .get("/stats", async (c) => c.json(await admin.stats(deps)));
}
