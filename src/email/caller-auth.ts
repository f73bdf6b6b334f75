// Who is calling /send (issue 11). Runs before anything else of the request, so nothing about bounces
// is revealed to a caller that is not authenticated. The answer, per request:
// - the operator token (FXA_EMAIL_AUTH_TOKEN) → the caller `default` (with the limits of a caller row
//   of that name, if there is one): callers that have not moved to their own token keep working;
// - a caller's token (current, or previous within the rotation grace) → that caller and its limits;
// - no caller defined and no operator token configured → /send is open, as before callers existed;
// - anything else → 401.
// Callers are read from PostgreSQL on every request (batched per tick), so a removal or rotation takes
// effect at once on every instance.
import type { MiddlewareHandler } from "hono";
import type { Sql } from "../db/client.ts";
import { tokenMatches } from "../http/bearer-token.ts";
import { HttpError } from "../http/problem.ts";
import { fetchCallersNamed, type CallerRow } from "./caller-store.ts";
import { claimedName, limitsOf, OPERATOR_CALLER, tokenIsValid, type CallerLimits } from "./callers.ts";
import { coalesceCalls } from "../core/concurrency.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The authenticated caller's limits (absent when /send is open). */
    callerLimits: CallerLimits;
  }
}

export const UNAUTHORIZED_MESSAGE = "Missing or invalid bearer token";

type Lookup = { anyCallers: boolean; caller: CallerRow | undefined };

export function callerAuthentication(deps: { sql: Sql; authToken?: string; now: () => number }): MiddlewareHandler {
  const lookup = coalesceCalls<string, Lookup>(
    async (names) => {
      const found = await fetchCallersNamed(deps.sql, names);
      return names.map((name) => ({ anyCallers: found.anyCallers, caller: found.callers.get(name) }));
    },
    { maxInFlight: 2, maxBatch: 500 },
  );
  return async function callerAuthentication(c, next) {
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
    const token = match?.[1];
    const operator = token !== undefined && deps.authToken !== undefined && tokenMatches(deps.authToken, token);
    const name = operator ? OPERATOR_CALLER : token !== undefined ? claimedName(token) : undefined;
    const { anyCallers, caller } = await lookup(name ?? "");
    let limits: CallerLimits | undefined;
    if (operator) limits = limitsOf(caller, OPERATOR_CALLER);
    else if (caller && token !== undefined && tokenIsValid(caller, token, deps.now())) limits = limitsOf(caller);
    else if (anyCallers || deps.authToken !== undefined) throw new HttpError(401, UNAUTHORIZED_MESSAGE);
    if (limits) {
      c.set("callerLimits", limits);
      c.set("caller", limits.name);
    }
    await next();
  };
}
