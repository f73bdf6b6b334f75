// `process-account-events serve`'s HTTP face: the tokenserver as a relying party of the event broker.
// POST /v1/events takes the broker's Security Event Tokens in either of its delivery formats
// (src/broker/webhook-call.ts):
// - RFC 8935 push: the SET is the body, Content-Type application/secevent+jwt; answered 202;
// - bearer (the original broker's): `Authorization: Bearer <SET>`, no body; answered 200.
// The SET is verified (src/secevent/verify.ts) before anything else; then each event goes through the
// SQS path's handler (account-events.ts), so a replayed or reordered SET changes nothing the queue
// would not. A refusal is RFC 8935 §2.3's 400 with {"err","description"}; in the bearer format a token
// that is not the broker's (kid, signature, iss, aud) is RFC 6750's 401 invalid_token with that body.
// Nothing is written for a refused SET. The JWKS unreachable, or the database unavailable, is a 503:
// the broker retries the delivery.
import { Hono, type Context } from "hono";
import { TransientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../core/metrics.ts";
import type { Sql } from "../db/client.ts";
import { readBodyWithin } from "../http/body-limit.ts";
import { dockerflowRoutes, type VersionInfo } from "../http/dockerflow.ts";
import { errorFunnel } from "../http/error-funnel.ts";
import { HttpError } from "../http/problem.ts";
import { requestFields, requestLog } from "../http/request-log.ts";
import type { ServerEnv } from "../http/serve.ts";
import { JwksUnavailableError } from "../secevent/jwks.ts";
import { MAX_SET_BYTES, SetRefusal, verifySet, type KeySource } from "../secevent/verify.ts";
import { applyAccountEvent } from "./account-events.ts";
import type { TokenserverRepository } from "./repository.ts";
import { accountEventsOfSet } from "./set-events.ts";

export const SET_CONTENT_TYPE = "application/secevent+jwt";

export interface EventsWebhookDeps {
  sql: Sql;
  repo: TokenserverRepository;
  log: Logger;
  metrics: Metrics;
  keys: KeySource;
  issuer: string;
  audience: string;
  /** The tokenserver email of a user is `<sub>@<domain>`. */
  domain: string;
  version: VersionInfo;
}

type Style = "bearer" | "rfc8935";

const mediaType = (c: Context) => (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();

/** The SET and how it came; a SetRefusal when the request carries none. */
async function receivedSet(c: Context): Promise<{ style: Style; token: string }> {
  if (mediaType(c) === SET_CONTENT_TYPE) {
    const bytes = await readBodyWithin(c.req.raw, MAX_SET_BYTES);
    if (bytes === undefined) throw new SetRefusal("invalid_request", `the body is longer than ${MAX_SET_BYTES} bytes`);
    return { style: "rfc8935", token: new TextDecoder().decode(bytes).trim() };
  }
  const bearer = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
  if (bearer) return { style: "bearer", token: bearer[1]! };
  throw new SetRefusal("invalid_request", `send the SET as an ${SET_CONTENT_TYPE} body (RFC 8935) or as Authorization: Bearer <SET>`);
}

/** In the bearer format the SET is the credential: one that is not the broker's is RFC 6750's 401. */
function refusalResponse(refusal: SetRefusal, style: Style): Response {
  const body = JSON.stringify({ err: refusal.err, description: refusal.description });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (style === "bearer" && refusal.err !== "invalid_request") {
    headers["www-authenticate"] = `Bearer error="invalid_token", error_description=${JSON.stringify(refusal.description.replaceAll('"', "'"))}`;
    return new Response(body, { status: 401, headers });
  }
  return new Response(body, { status: 400, headers });
}

export function createEventsWebhookApp(deps: EventsWebhookDeps): Hono<{ Bindings: ServerEnv }> {
  const { log, metrics } = deps;
  const app = new Hono<{ Bindings: ServerEnv }>();
  const funnel = errorFunnel({
    internal: (error) => (error instanceof TransientError ? new HttpError(503, error.message) : new HttpError(500, "Internal error")),
    onProblem(problem, c, cause) {
      const fields = { ...requestFields(c), code: problem.status, message: problem.message };
      if (problem.status >= 500) log.error("Request errored", { ...fields, cause: cause instanceof Error ? cause.message : String(cause) });
      else log.warn("Request errored", fields);
    },
  });
  app.onError(funnel.onError);
  app.notFound(funnel.notFound);
  app.use("*", requestLog(log));

  app.post("/v1/events", async (c) => {
    let style: Style = mediaType(c) === SET_CONTENT_TYPE ? "rfc8935" : "bearer";
    try {
      const received = await receivedSet(c);
      style = received.style;
      const { payload } = await verifySet(received.token, { keys: deps.keys, issuer: deps.issuer, audience: deps.audience });
      const events = accountEventsOfSet(payload, deps.domain);
      const invalid = events.find((e) => e.kind === "invalid");
      if (invalid?.kind === "invalid") throw new SetRefusal("invalid_request", invalid.reason);
      const jti = String(payload.jti);
      for (const event of events) await applyAccountEvent(event, deps, jti);
      metrics.incr("set.accepted", 1, { style });
      log.info("SET applied", { jti, sub: payload.sub, events: Object.keys(payload.events as object), style });
      return new Response(null, { status: style === "rfc8935" ? 202 : 200 });
    } catch (error) {
      if (error instanceof JwksUnavailableError) throw new TransientError(error.message, { cause: error });
      if (!(error instanceof SetRefusal)) throw error;
      metrics.incr("set.refused", 1, { err: error.err, style });
      log.warn("SET refused", { ...requestFields(c), err: error.err, description: error.description, style });
      return refusalResponse(error, style);
    }
  });

  app.route("/", dockerflowRoutes({ heartbeat: async () => void (await deps.sql`select 1`), version: deps.version }));
  return app;
}
