// One HTTP DELETE to a storage node, with the exact Host header hawkauthlib signs ("host:port", port
// always explicit). Bun's fetch sends a caller-set Host; Deno's fetch replaces it, so other runtimes
// go through node:http, which sends headers as given.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export type HttpDelete = (url: string, headers: Record<string, string>, timeoutMs: number) => Promise<number>;

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

const fetchDelete: HttpDelete = async (url, headers, timeoutMs) => {
  let response: Response;
  try {
    response = await fetch(url, { method: "DELETE", headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") throw new TransportError("timeout", `no response within ${timeoutMs} ms`, { cause: error });
    throw new TransportError("connect", (error as Error)?.message ?? String(error), { cause: error });
  }
  // Read the body so the connection goes back to the pool; a body cut off mid-way does not change the status.
  await response.arrayBuffer().catch(() => undefined);
  return response.status;
};

const nodeDelete: HttpDelete = (url, headers, timeoutMs) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(target, { method: "DELETE", headers: { ...headers, "Content-Length": "0" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new TransportError("timeout", `no response within ${timeoutMs} ms`)));
    req.on("error", (error) => reject(error instanceof TransportError ? error : new TransportError("connect", error.message, { cause: error })));
    req.end();
  });

export const httpDelete: HttpDelete = (globalThis as { Bun?: unknown }).Bun ? fetchDelete : nodeDelete;
