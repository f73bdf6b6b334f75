// POST /v1/proxy/:clientId, the original's delivery endpoint kept for compatibility (spec/event-broker.md
// §5.2): a Pub/Sub push body whose message.data is a fan-out message; the SET is signed and sent to the
// client's webhook at once, and the relying party's status (and body) is the answer.
// Auth: with PUBSUB_AUTHENTICATE (default true) the `?token=` must equal PUBSUB_VERIFICATION_TOKEN and a
// Bearer token must be present. Google's OIDC signature on that Bearer cannot be checked here (no Google),
// so the verification token is the secret; PUBSUB_AUTHENTICATE=false turns both checks off.
import type { Context } from "hono";
import { tokenMatches } from "../http/bearer-token.ts";
import { readBodyWithin } from "../http/body-limit.ts";
import { signSet, type SetSenderDeps } from "./set.ts";
import { callWebhook, isDelivered } from "./webhook-call.ts";
import { webhookUrlProblem } from "./webhook-url.ts";

export interface ProxyDeps extends SetSenderDeps {
  authenticate: boolean;
  verificationToken?: string;
  timeoutMs: number;
  allowInsecureWebhooks: boolean;
  fetch?: typeof fetch;
}

const MAX_PUSH_BYTES = 1024 * 1024;
const MAX_ANSWER_BYTES = 64 * 1024;
const NO_BODY = new Set([204, 205, 304]);

/** Nest's HttpException rendering: objects as they are, anything else as {statusCode, message}. */
function nestResponse(status: number, data: unknown): Response {
  if (NO_BODY.has(status)) return new Response(null, { status });
  const body = data !== null && typeof data === "object" ? data : { statusCode: status, message: data };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

function authorized(c: Context, deps: ProxyDeps): boolean {
  if (!deps.authenticate) return true;
  const token = c.req.query("token");
  if (!deps.verificationToken || token === undefined || !tokenMatches(deps.verificationToken, token)) return false;
  return /^Bearer +\S+/i.test(c.req.header("authorization") ?? "");
}

interface PushBody {
  message: { data: string; messageId: string };
  subscription: string;
}

function isPushBody(value: unknown): value is PushBody {
  const v = value as Partial<PushBody> | null;
  return (
    typeof v === "object" && v !== null && typeof v.subscription === "string" &&
    typeof v.message === "object" && v.message !== null && typeof v.message.data === "string" && typeof v.message.messageId === "string"
  );
}

export function proxyHandler(deps: ProxyDeps) {
  const { log, metrics } = deps;
  return async function proxy(c: Context): Promise<Response> {
    if (!authorized(c, deps)) return nestResponse(401, { statusCode: 401, message: "Unauthorized" });
    const clientId = c.req.param("clientId") ?? "";
    const bytes = await readBodyWithin(c.req.raw, MAX_PUSH_BYTES);
    let body: unknown;
    try {
      body = bytes === undefined ? undefined : JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      body = undefined;
    }
    if (!isPushBody(body)) return nestResponse(400, { statusCode: 400, error: "Bad Request", message: "Invalid request payload input" });

    const client = deps.clients.get(clientId);
    if (!client) {
      log.debug("proxyDelivery", { message: "webhook for clientId not found", clientId });
      metrics.incr("proxy.webhookNotFound", 1, { clientId });
      return nestResponse(200, "Webhook not found");
    }
    let json: Record<string, unknown>;
    try {
      const decoded = JSON.parse(Buffer.from(body.message.data, "base64").toString("utf8")) as unknown;
      if (decoded === null || typeof decoded !== "object" || Array.isArray(decoded)) throw new Error("not an object");
      json = decoded as Record<string, unknown>;
    } catch (error) {
      log.error("proxyDelivery", { message: "Failure to load message payload", error: (error as Error).message });
      return nestResponse(400, { statusCode: 400, message: "Invalid message", error: "Bad Request" });
    }
    const now = deps.clock();
    const queueDelay = now - Number(json.timestamp);
    let token: string;
    try {
      token = await signSet(deps.key, { clientId, json, issuedAtMs: now, jti: crypto.randomUUID(), issuer: deps.issuer });
    } catch (error) {
      log.error("proxyDelivery", { message: (error as Error).message, clientId });
      return nestResponse(500, { statusCode: 500, message: "Internal server error" });
    }
    const refused = webhookUrlProblem(client.webhookUrl, deps.allowInsecureWebhooks);
    if (refused) {
      log.error("proxyDeliverError", { clientId, error: `webhook URL refused: ${refused}` });
      return nestResponse(500, { statusCode: 500, message: "Internal server error" });
    }
    const type = String(json.event);
    let answer;
    try {
      answer = await callWebhook({ url: client.webhookUrl, token, format: client.format, timeoutMs: deps.timeoutMs, maxBodyBytes: MAX_ANSWER_BYTES, fetch: deps.fetch });
    } catch (error) {
      log.error("proxyDeliverError", { clientId, error: (error as Error).message });
      return nestResponse(500, { statusCode: 500, message: "Internal server error" });
    }
    const tags = { clientId, statusCode: String(answer.status), type };
    if (isDelivered(answer.status)) {
      metrics.timing("proxy.success", deps.clock() - Number(json.timestamp), tags);
      if (type === "subscription:update") metrics.timing("proxy.sub.eventDelay", deps.clock() - Number(json.changeTime));
    } else {
      metrics.incr("proxy.fail", 1, tags);
      log.debug("proxyDeliverFail", { statusCode: answer.status, body: answer.body, message: "failed to proxy message" });
    }
    log.debug("proxyDeliverSuccess", { statusCode: answer.status });
    metrics.timing("proxy.queueDelay", queueDelay);
    let data: unknown = answer.body;
    try {
      data = JSON.parse(answer.body);
    } catch {
      // text stays text
    }
    return nestResponse(answer.status, data);
  };
}
