// GET/DELETE /bounces/:email: what the send check sees for an address (its newest 20 records), which
// limit refuses it now and until when, and a way to clear the records (a support tool for "I fixed my
// mailbox, why do I still get nothing?"). Mounted only behind the bearer token.
import { Hono } from "hono";
import type { Logger } from "../core/logger.ts";
import type { Sql } from "../db/client.ts";
import type { ServerEnv } from "../http/serve.ts";
import { deleteBounces, fetchBounces } from "./bounce-store.ts";
import { suppressionOf, violationError, type DeliveryProblemLimits } from "./delivery-problems.ts";
import { normalizeEmailAddress, stripDisplayName } from "./email-address.ts";
import { EmailError } from "./errors.ts";
import { problemSubtype, problemType } from "./problem-codes.ts";
import { invalidValue } from "./serde-json.ts";

export interface SuppressionDeps {
  sql: Sql;
  log: Logger;
  limits: DeliveryProblemLimits;
  now: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

function addressParam(raw: string): string {
  const address = normalizeEmailAddress(raw);
  if (address === undefined) throw new EmailError("InvalidPayload", invalidValue({ kind: "string", value: stripDisplayName(raw) }, "email address").message);
  return address;
}

export function suppressionRoutes(deps: SuppressionDeps): Hono<{ Bindings: ServerEnv }> {
  return new Hono<{ Bindings: ServerEnv }>()
    .get("/bounces/:email", async (c) => {
      const address = addressParam(c.req.param("email"));
      const now = deps.now();
      const records = await fetchBounces(deps.sql, address);
      const suppression = deps.limits.enabled ? suppressionOf(records, deps.limits, now) : undefined;
      deps.log.info("Bounce records read", { address, records: records.length, refused: suppression !== undefined });
      let refused: Record<string, unknown> | null = null;
      if (suppression) {
        const error = violationError(address, suppression);
        refused = {
          errno: error.errno,
          message: error.message,
          problem: suppression.type,
          limit: { period: suppression.limit.period, limit: suppression.limit.limit },
          record: { createdAt: suppression.record.createdAt, createdAtIso: iso(suppression.record.createdAt) },
          until: suppression.until,
          untilIso: iso(suppression.until),
        };
      }
      return c.json({
        address,
        checksEnabled: deps.limits.enabled,
        refused,
        records: records.map((r) => ({
          bounceType: r.bounceType,
          bounceSubType: r.bounceSubType,
          problem: problemType(r.bounceType) ?? null,
          subtype: problemSubtype(r.bounceSubType) ?? null,
          createdAt: r.createdAt,
          createdAtIso: iso(r.createdAt),
        })),
      });
    })
    .delete("/bounces/:email", async (c) => {
      const address = addressParam(c.req.param("email"));
      const deleted = await deleteBounces(deps.sql, address);
      deps.log.info("Bounce records cleared", { address, deleted });
      return c.json({ address, deleted });
    });
}
