// One HTTP DELETE to a storage node, with the exact Host header hawkauthlib signs ("host:port", port
// always explicit). Bun's fetch sends a caller-set Host; Deno's fetch replaces it, so other runtimes
// go through node:http, which sends headers as given.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** `signal` cancels the request (a stop that ran out of time); it fails as a timeout would. */
export type HttpDelete = (url: string, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal) => Promise<number>;

/** Why a request produced no status: the original's `timeout` and `connect` failure reasons. */
export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    readonly reason: "timeout" | "connect",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const fetchDelete: HttpDelete = async (url, headers, timeoutMs, signal) => {
  let response: Response;
  try {
    const deadline = AbortSignal.timeout(timeoutMs);
    response = await fetch(url, { method: "DELETE", headers, signal: signal ? AbortSignal.any([deadline, signal]) : deadline });
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") throw new TransportError("timeout", `no response within ${timeoutMs} ms`, { cause: error });
    throw new TransportError("connect", (error as Error)?.message ?? String(error), { cause: error });
  }
  // Read the body so the connection goes back to the pool; a body cut off mid-way does not change the status.
  await response.arrayBuffer().catch(() => undefined);
  return response.status;
};

const nodeDelete: HttpDelete = (url, headers, timeoutMs, signal) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(target, { method: "DELETE", headers: { ...headers, "Content-Length": "0" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new TransportError("timeout", `no response within ${timeoutMs} ms`)));
    signal?.addEventListener("abort", () => req.destroy(new TransportError("timeout", "cancelled: the tool is stopping")), { once: true });
    req.on("error", (error) => reject(error instanceof TransportError ? error : new TransportError("connect", error.message, { cause: error })));
    req.end();
  });

export const httpDelete: HttpDelete = (globalThis as { Bun?: unknown }).Bun ? fetchDelete : nodeDelete;
