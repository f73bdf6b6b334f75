// An AWS SDK request handler over the runtime's own fetch. Under Bun the SDK's default handler goes
// through the node:http emulation; measured against the SQS emulator, a SendMessageBatch of ten 2.7 KB
// messages cost about 2.1 ms of CPU that way and 1.0 ms through fetch (receive + delete: 2.3 vs 1.1 ms).
// For a tool that is CPU-bound on SQS calls that is most of its throughput.
import type { SQSClientConfig } from "@aws-sdk/client-sqs";

interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: string | Uint8Array | ReadableStream | null;
}

function requestUrl(request: SdkRequest): string {
  let query = "";
  if (request.query) {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(request.query)) {
      if (value === null) parts.push(encodeURIComponent(key));
      else for (const v of Array.isArray(value) ? value : [value]) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v)}`);
    }
    if (parts.length) query = `?${parts.join("&")}`;
  }
  return `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ""}${request.path}${query}`;
}

export function fetchRequestHandler(): NonNullable<SQSClientConfig["requestHandler"]> {
  const handler = {
    metadata: { handlerProtocol: "http/1.1" },
    async handle(request: SdkRequest, options: { abortSignal?: AbortSignal } = {}) {
      const response = await fetch(requestUrl(request), {
        method: request.method,
        headers: request.headers,
        body: request.method === "GET" || request.method === "HEAD" ? undefined : (request.body ?? undefined),
        signal: options.abortSignal,
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => (headers[key] = value));
      // SQS answers are small: read them whole, which every SDK body collector accepts.
      return { response: { statusCode: response.status, reason: response.statusText, headers, body: new Uint8Array(await response.arrayBuffer()) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  return handler as unknown as NonNullable<SQSClientConfig["requestHandler"]>;
}
