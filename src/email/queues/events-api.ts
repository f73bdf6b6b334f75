// The Sendgrid and SocketLabs event webhooks (spec/email.md §9.6), in place of fxa-email-event-proxy:
// POST /events/sendgrid and POST /events/socketlabs, plus the Dockerflow routes.
//
// Each request: `?auth=<secret>` checked as the proxy did (SHA-256 digests, compared in constant time),
// the body read within a limit as JSON (anything but a form content type, as the proxy did) or as a
// form, one event or an array of them. Every event is mapped and parsed as an SES notification before
// anything is written: one malformed event makes the whole request a 400 and nothing is recorded. Then
// each notification goes through the same code as one from SQS (record, metadata, forward). A database
// failure is a 500: the provider retries, and what was already recorded is not recorded twice.
// SocketLabs: a first event of type Validation is answered with the ValidationKey (text) when its
// SecretKey matches; every other event must carry the SecretKey too (the proxy skipped those that did
// not, silently losing them when the key was wrong; here the request is refused with a 401).
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Hono, type Context } from "hono";
import { tokenMatches } from "../../http/bearer-token.ts";
import { readBodyWithin } from "../../http/body-limit.ts";
import { dockerflowRoutes, type VersionInfo } from "../../http/dockerflow.ts";
import { errorFunnel } from "../../http/error-funnel.ts";
import { HttpError, type HttpProblem } from "../../http/problem.ts";
import { requestFields, requestLog } from "../../http/request-log.ts";
import type { ServerEnv } from "../../http/serve.ts";
import { EmailError } from "../errors.ts";
import type { WebhookSecrets } from "../queues-config.ts";
import { handleNotification, handlerDeps, type NotificationDeps } from "./handle-notification.ts";
import { SerdeError } from "../serde-json.ts";
import { parseSesNotification, payloadError, type SesNotification } from "./notification.ts";
import { isFields, type EventOutcome } from "./webhooks/event.ts";
import { sendgridEvent } from "./webhooks/sendgrid.ts";
import { socketlabsEvent } from "./webhooks/socketlabs.ts";

/** Sendgrid posts batches of events; 1 MiB leaves room for the largest while bounding memory. */
export const MAX_EVENTS_BODY_BYTES = 1024 * 1024;

type Provider = "sendgrid" | "socketlabs";

export interface EventsAppDeps extends NotificationDeps {
  webhooks: WebhookSecrets;
  version: VersionInfo;
  /** For the heartbeat: the notification queue must answer. */
  sqs?: SQSClient;
  maxBodyBytes?: number;
}

const UNAUTHORIZED = "Request must provide a valid auth query param.";

function asEmailError(error: unknown): EmailError {
  if (error instanceof EmailError) return error;
  const message = error instanceof Error ? error.message || error.name : String(error);
  return new EmailError("Internal", message, {}, { cause: error });
}

const invalidPayload = (detail: string) => new EmailError("InvalidPayload", detail);

function isForm(c: Context): boolean {
  const type = c.req.header("content-type") ?? "";
  return type.split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/** A form's fields as an object; a repeated field becomes a list (as the proxy's `qs` made it). */
function formFields(text: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const previous = Object.hasOwn(fields, key) ? fields[key] : undefined;
    const next = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    Object.defineProperty(fields, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

async function readEvents(c: Context, maxBytes: number): Promise<unknown[]> {
  const bytes = await readBodyWithin(c.req.raw, maxBytes);
  if (bytes === undefined) throw invalidPayload(`request body larger than ${maxBytes} bytes`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw invalidPayload("request body is not UTF-8");
  }
  let data: unknown;
  if (isForm(c)) data = formFields(text);
  else {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw invalidPayload(`request body is not JSON: ${(error as Error).message}`);
    }
  }
  return Array.isArray(data) ? data : [data];
}

/** Maps and parses every event; throws the first one's problem (400) before anything is written. */
function notificationsOf(events: unknown[], map: (event: unknown) => EventOutcome): SesNotification[] {
  const out: SesNotification[] = [];
  events.forEach((event, i) => {
    const outcome = map(event);
    if (outcome.kind === "skip") return;
    if (outcome.kind === "malformed") throw invalidPayload(`event ${i}: ${outcome.reason}`);
    let notification: SesNotification;
    try {
      notification = parseSesNotification(utf8Encoder.encode(JSON.stringify(outcome.notification)));
    } catch (error) {
      // The caller sent the event, not this JSON: the description without a position in it.
      if (error instanceof SerdeError) throw invalidPayload(`event ${i}: ${error.description}`);
      throw error;
    }
    const missing = payloadError(notification);
    if (missing) throw invalidPayload(`event ${i}: ${missing}`);
    out.push(notification);
  });
  return out;
}

export function createEventsApp(deps: EventsAppDeps): Hono<{ Bindings: ServerEnv }> {
  const { log, metrics } = deps;
  const maxBodyBytes = deps.maxBodyBytes ?? MAX_EVENTS_BODY_BYTES;
  const handling = handlerDeps(deps);
  const app = new Hono<{ Bindings: ServerEnv }>();
  const logged = { redactQuery: ["auth"] }; // the webhook secret travels in the query
  const funnel = errorFunnel({
    internal: asEmailError,
    onProblem(problem: HttpProblem, c, cause) {
      const { code, error, errno, message, ...extra } = problem.toJSON();
      const fields = { ...requestFields(c, logged), code, error, errno, message, additional_fields: JSON.stringify(extra) };
      if (problem.status >= 500) log.error("Request errored", { ...fields, cause: cause instanceof EmailError ? cause.cause : cause });
      else log.warn("Request errored", fields);
    },
  });
  app.onError(funnel.onError);
  app.notFound(funnel.notFound);
  app.use("*", requestLog(log, logged));

  const authenticate = (c: Context, provider: Provider, secret: string) => {
    const presented = c.req.query("auth");
    if (presented === undefined || !tokenMatches(secret, presented)) {
      metrics.incr("webhook.unauthorized", 1, { provider });
      throw new HttpError(401, UNAUTHORIZED);
    }
  };

  const record = async (c: Context, provider: Provider, notifications: SesNotification[], skipped: number) => {
    // At once: the store coalesces their statements, the queue their sends.
    await Promise.all(notifications.map((n) => handleNotification(n, handling, { source: provider }, c.req.raw.signal)));
    metrics.incr("webhook.events", notifications.length, { provider, outcome: "recorded" });
    if (skipped > 0) metrics.incr("webhook.events", skipped, { provider, outcome: "skipped" });
    return c.json({ result: `Processed ${notifications.length} events` });
  };

  const invalid = (provider: Provider) => (error: unknown) => {
    if (error instanceof EmailError && error.status === 400) metrics.incr("webhook.invalid", 1, { provider });
    throw error;
  };

  const sendgrid = deps.webhooks.sendgrid;
  if (sendgrid) {
    app.post("/events/sendgrid", async (c) => {
      authenticate(c, "sendgrid", sendgrid.auth);
      const events = await readEvents(c, maxBodyBytes).catch(invalid("sendgrid"));
      let notifications: SesNotification[];
      try {
        notifications = notificationsOf(events, sendgridEvent);
      } catch (error) {
        return invalid("sendgrid")(error);
      }
      return await record(c, "sendgrid", notifications, events.length - notifications.length);
    });
  }

  const socketlabs = deps.webhooks.socketlabs;
  if (socketlabs) {
    app.post("/events/socketlabs", async (c) => {
      authenticate(c, "socketlabs", socketlabs.auth);
      const events = await readEvents(c, maxBodyBytes).catch(invalid("socketlabs"));
      const secretKeyMatches = (event: unknown) => isFields(event) && typeof event.SecretKey === "string" && tokenMatches(socketlabs.secretKey, event.SecretKey);
      const first = events[0];
      if (isFields(first) && first.Type === "Validation") {
        if (!secretKeyMatches(first)) {
          metrics.incr("webhook.unauthorized", 1, { provider: "socketlabs" });
          throw new HttpError(401, "Invalid SecretKey");
        }
        log.info("SocketLabs validation answered");
        return c.text(socketlabs.validationKey);
      }
      let notifications: SesNotification[];
      try {
        notifications = notificationsOf(events, socketlabsEvent);
      } catch (error) {
        return invalid("socketlabs")(error);
      }
      // Checked after the shape: a malformed event is a 400 whatever its key; a well-formed one with the wrong key is a 401.
      if (!events.every(secretKeyMatches)) {
        metrics.incr("webhook.unauthorized", 1, { provider: "socketlabs" });
        throw new HttpError(401, "Invalid SecretKey");
      }
      return await record(c, "socketlabs", notifications, events.length - notifications.length);
    });
  }

  app.route(
    "/",
    dockerflowRoutes({
      heartbeat: async () => {
        try {
          await deps.sql`select 1`;
          if (deps.sqs && deps.notificationQueue) {
            await deps.sqs.send(new GetQueueAttributesCommand({ QueueUrl: deps.notificationQueue.url, AttributeNames: ["QueueArn"] }), { abortSignal: AbortSignal.timeout(5_000) });
          }
        } catch (error) {
          throw asEmailError(error);
        }
      },
      version: deps.version,
    }),
  );
  return app;
}
