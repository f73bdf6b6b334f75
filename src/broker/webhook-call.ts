// One POST of a SET to a relying party, in the client's format:
// - bearer (the original's): `Authorization: Bearer <SET>`, no body, no Content-Type;
// - rfc8935 (RFC 8935 push): the SET as the body, `Content-Type: application/secevent+jwt`, 202 expected,
//   and on an error the RFC's JSON body ({err, description}) is read and reported.
// Redirects are not followed (a 3xx is a failed delivery), the call has a timeout, and at most
// `maxBodyBytes` of the answer are read.
import { readUpTo } from "../http/body-limit.ts";
import type { DeliveryFormat } from "./queries.ts";

export interface WebhookAnswer {
  status: number;
  /** The answer's text, cut at maxBodyBytes. */
  body: string;
}

export interface WebhookCall {
  url: string;
  token: string;
  format: DeliveryFormat;
  timeoutMs: number;
  maxBodyBytes: number;
  /** Aborts the call (the stop's abandon). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Why there was no answer: the timeout, or the connection (refused, reset, DNS). */
export class WebhookError extends Error {
  override name = "WebhookError";
  constructor(
    readonly kind: "timeout" | "network",
    message: string,
  ) {
    super(message);
  }
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return "";
  return new TextDecoder().decode((await readUpTo(response.body, maxBytes)).bytes);
}

export async function callWebhook(call: WebhookCall): Promise<WebhookAnswer> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
  const init: RequestInit =
    call.format === "rfc8935"
      ? { method: "POST", body: call.token, headers: { "content-type": "application/secevent+jwt", accept: "application/json" } }
      : { method: "POST", headers: { authorization: `Bearer ${call.token}` } };
  try {
    const response = await (call.fetch ?? fetch)(call.url, { ...init, redirect: "manual", signal });
    return { status: response.status, body: await readBounded(response, call.maxBodyBytes) };
  } catch (error) {
    if (timeout.aborted) throw new WebhookError("timeout", `no answer within ${call.timeoutMs} ms`);
    throw new WebhookError("network", (error as Error).message);
  }
}

/** Success: any 2xx for bearer (Pub/Sub's rule); RFC 8935 asks for 202 and we accept any 2xx as well. */
export const isDelivered = (status: number) => status >= 200 && status < 300;

/** RFC 8935 §2.3's error body, when the answer is one. */
export function rfc8935Error(body: string): { err: string; description?: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { err?: unknown; description?: unknown };
    if (typeof parsed.err !== "string") return undefined;
    return { err: parsed.err, ...(typeof parsed.description === "string" ? { description: parsed.description } : {}) };
  } catch {
    return undefined;
  }
}
