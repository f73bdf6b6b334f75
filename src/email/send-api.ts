// The email-send HTTP API (spec/email.md §1): POST /send, the Dockerflow routes and, behind the
// bearer token, the /bounces routes. Every failure leaves through one error funnel as
// {code, error, errno, message, ...} (§3) and is logged once.
import { Hono, type Context } from "hono";
import type { Logger } from "../core/logger.ts";
import { noopMetrics, type Metrics } from "../core/metrics.ts";
import type { Sql } from "../db/client.ts";
import { CONSOLE_BASE } from "../console/context.ts";
import { consoleRoutes } from "../console/routes.tsx";
import { bearerToken } from "../http/bearer-token.ts";
import { readBodyWithin } from "../http/body-limit.ts";
import { dockerflowRoutes, type VersionInfo } from "../http/dockerflow.ts";
import { errorFunnel } from "../http/error-funnel.ts";
import { HttpError, type HttpProblem } from "../http/problem.ts";
import { requestFields, requestLog } from "../http/request-log.ts";
import type { ServerEnv } from "../http/serve.ts";
import { coalescedBounceLookup } from "./bounce-lookup.ts";
import { EMAIL_CONSOLE_NAV, emailConsolePages } from "./console/pages.ts";
import { callerAuthentication } from "./caller-auth.ts";
import { callersRoutes } from "./callers-api.ts";
import { fetchBouncesFor } from "./bounce-store.ts";
import { checkRecipients, type BounceLookup, type DeliveryProblemLimits } from "./delivery-problems.ts";
import { EmailError } from "./errors.ts";
import { messageDataKey, storeMessageData } from "./message-data.ts";
import type { EmailProvider } from "./providers/provider.ts";
import { sendRateGate, type Taken } from "./send-rate.ts";
import { parseSendRequest } from "./send-request.ts";
import { suppressionRoutes } from "./suppression-api.ts";

/** The latest original's limit (mozilla/fxa 1.216.1). */
export const MAX_SEND_BODY_BYTES = 128 * 1024;

export interface EmailAppDeps {
  sql: Sql;
  log: Logger;
  /** The provider for a request's `provider` field (absent → the default); throws EmailError InvalidPayload. */
  resolveProvider: (requested: string | undefined) => EmailProvider;
  limits: DeliveryProblemLimits;
  hmacKey: string;
  messageDataTtlMs: number;
  version: VersionInfo;
  /**
   * The operator token: when set, /send accepts it (as the caller `default`), the /bounces and
   * /callers routes exist behind it, and the operator console under /console signs in with it. With callers defined (email_callers), /send needs a token either way.
   */
  authToken?: string;
  metrics?: Metrics;
  now?: () => number;
  maxBodyBytes?: number;
  /**
   * Bounce queries running at once (default 2); requests arriving meanwhile share the next query.
   * Measured with 64 connections on 2 cores: 1-2 → ~11k requests/s, 4 → ~9k, 8 → ~8k.
   */
  lookupConcurrency?: number;
}

function asEmailError(error: unknown): EmailError {
  if (error instanceof EmailError) return error;
  const message = error instanceof Error ? error.message || error.name : String(error);
  return new EmailError("Internal", message, {}, { cause: error });
}

function isJson(c: Context): boolean {
  const type = c.req.header("content-type");
  if (!type) return false;
  const semicolon = type.indexOf(";");
  return (semicolon === -1 ? type : type.slice(0, semicolon)).trim().toLowerCase() === "application/json";
}

/** StatsD tag of the request's caller (none while /send is open). */
const callerTag = (c: Context): Record<string, string> | undefined => (c.var.caller !== undefined ? { caller: c.var.caller } : undefined);

export function createEmailApp(deps: EmailAppDeps): Hono<{ Bindings: ServerEnv }> {
  const { sql, log, limits } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const now = deps.now ?? Date.now;
  const maxBodyBytes = deps.maxBodyBytes ?? MAX_SEND_BODY_BYTES;
  const lookup: BounceLookup = coalescedBounceLookup(
    async (addresses, since) => {
      try {
        return await fetchBouncesFor(sql, addresses, { since });
      } catch (error) {
        throw asEmailError(error);
      }
    },
    { maxInFlight: deps.lookupConcurrency ?? 2, maxBatch: 500 },
  );

  const app = new Hono<{ Bindings: ServerEnv }>();
  const funnel = errorFunnel({
    internal: asEmailError,
    onProblem(problem: HttpProblem, c, cause) {
      const body = problem.toJSON();
      const { code, error, errno, message, ...extra } = body;
      const fields = { ...requestFields(c), code, error, errno, message, additional_fields: JSON.stringify(extra) };
      // 5xx are ours to look at; 4xx are the caller's (the original logged both at ERROR).
      if (problem.status >= 500) log.error("Request errored", { ...fields, cause: cause instanceof EmailError ? cause.cause : cause });
      else log.warn("Request errored", fields);
    },
  });
  app.onError(funnel.onError);
  app.notFound(funnel.notFound);
  // Before the request log, so that its lines name the caller; before the body is read, so that an
  // unauthenticated caller learns nothing about bounces.
  app.use("/send", callerAuthentication({ sql, now, ...(deps.authToken ? { authToken: deps.authToken } : {}) }));
  app.use("*", requestLog(log));
  const gate = sendRateGate(sql);
  const giveBack = async (c: Context, taken: Taken, sent: string[]) => {
    try {
      await gate.giveBack(taken, sent);
    } catch (error) {
      // Non-fatal: the counts stay one too high until their window ends, which can only refuse more.
      log.warn("Send counts not given back", { ...requestFields(c), error: (error as Error).message });
    }
  };

  if (deps.authToken) {
    app.use("/bounces/*", bearerToken(deps.authToken));
    app.use("/callers/*", bearerToken(deps.authToken));
    app.route("/", suppressionRoutes({ sql, log, limits, now }));
    app.route("/", callersRoutes({ sql, log, now }));
    // The operator console: people sign in with the same token and see the same answers.
    app.route(CONSOLE_BASE, consoleRoutes({ tool: "email-send", token: deps.authToken, nav: EMAIL_CONSOLE_NAV, pages: emailConsolePages({ sql, log, limits, now }), log, now }));
  }

  app.post("/send", async (c) => {
    // The original's route only matched JSON requests; anything else fell through to 404.
    if (!isJson(c)) throw new HttpError(404, `No route for POST /send with Content-Type ${c.req.header("content-type") ?? "(none)"}; application/json is required`);
    try {
      const bytes = await readBodyWithin(c.req.raw, maxBodyBytes);
      if (bytes === undefined) throw new EmailError("InvalidPayload", `request body larger than ${maxBodyBytes} bytes`);
      const request = parseSendRequest(bytes);
      const caller = c.var.callerLimits;
      // The provider is resolved now but its error waits for the bounce checks (the original's order).
      let provider: EmailProvider | undefined;
      let providerError: unknown;
      try {
        provider = deps.resolveProvider(request.provider);
      } catch (error) {
        providerError = error;
      }
      // Counted while the bounce checks run, for every recipient asked for; what they drop is given
      // back before answering, so the counts end as "to and every cc actually sent".
      const taking = caller && provider ? gate.take(caller, [request.to, ...request.cc], now()).catch((error: unknown) => ({ failed: error })) : undefined;
      let recipients: { to: string; cc: string[] };
      try {
        recipients = await checkRecipients(lookup, limits, { to: request.to, cc: request.cc }, now());
      } catch (error) {
        const outcome = await taking;
        if (outcome && "taken" in outcome) await giveBack(c, outcome.taken, []);
        throw error;
      }
      if (!provider) throw providerError;
      const { to, cc } = recipients;
      const outcome = await taking;
      if (outcome && "failed" in outcome) throw asEmailError(outcome.failed);
      if (outcome && "refused" in outcome) {
        // Refused for a recipient that is not sent anyway: count exactly what is sent instead.
        if (outcome.entry.address === "" || [to, ...cc].includes(outcome.entry.address)) throw outcome.refused;
        const again = await gate.take(caller!, [to, ...cc], now());
        if ("refused" in again) throw again.refused;
      } else if (outcome) {
        await giveBack(c, outcome.taken, [to, ...cc]);
      }
      let id: string;
      try {
        id = await provider.send({
          to,
          cc,
          subject: request.subject,
          headers: request.headers,
          text: request.text,
          ...(request.html !== undefined ? { html: request.html } : {}),
        });
      } catch (error) {
        throw asEmailError(error);
      }
      if (request.metadata !== undefined) {
        try {
          await storeMessageData(sql, messageDataKey(deps.hmacKey, id), request.metadata, now(), deps.messageDataTtlMs);
        } catch (error) {
          // Non-fatal, as in the original: the message went out; only its notification loses the metadata.
          log.error("Message data not stored", { ...requestFields(c), provider: provider.name, error: (error as Error).message });
        }
      }
      metrics.incr("send.sent", 1, { provider: provider.name, ...callerTag(c) });
      return c.json({ messageId: `${provider.name}:${id}` });
    } catch (error) {
      const status = error instanceof EmailError ? error.status : 500;
      const rateLimited = error instanceof EmailError && error.kind === "SendRateLimited";
      metrics.incr(rateLimited ? "send.rate_limited" : status === 429 ? "send.refused" : status < 500 ? "send.invalid" : "send.failed", 1, callerTag(c));
      throw error;
    }
  });

  app.route("/", dockerflowRoutes({ heartbeat: async () => void (await sql`select 1`), version: deps.version }));
  return app;
}
