// The queues email-queues writes to: the notification queue (the normalised notification) and the
// optional dead-letter queue (verbatim copies of what could not be processed). A port with one method,
// so the handler does not care whether SQS or a test stands behind it.
//
// The SQS adapter coalesces: messages wait until the current SendMessageBatch call (`maxInFlight`) is
// done or until the next macrotask, then leave together, up to 10 (and 200 KiB) per call. Idle, a
// message waits one macrotask; under load one call carries up to ten. Each call costs a quarter of a
// millisecond of CPU or more (src/sqs/send-batch.ts), so one call per message would cost more than
// everything else the handler does.
import { Buffer } from "node:buffer";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { backoffDelay, sleep } from "../../core/backoff.ts";
import { sendMessageBatch, type MessageAttribute } from "../../sqs/send-batch.ts";

export interface OutgoingQueue {
  readonly url: string;
  /** Resolves with the new message's id; throws when SQS refused it or did not answer in time. */
  send(body: string, options?: { attributes?: Record<string, string>; signal?: AbortSignal }): Promise<string | undefined>;
}

export interface SqsOutgoingOptions {
  /** A batch call, retries included, gives up after this long (a hung endpoint must not hold messages). */
  timeoutMs?: number;
  /** Attempts per batch call: throttling or a dropped connection should not cost the notifications. */
  attempts?: number;
  /** Batch calls running at once (default 1); messages arriving meanwhile share the next call. */
  maxInFlight?: number;
  /** How long a lone message waits for others to share its call (default 0: the next macrotask; a full batch leaves at once). */
  lingerMs?: number;
}

interface Pending {
  body: string;
  attributes?: Record<string, MessageAttribute>;
  bytes: number;
  resolve: (id: string | undefined) => void;
  reject: (error: unknown) => void;
}

const MAX_ENTRIES = 10;
// SQS limits a whole batch to 256 KiB; leave room for attributes and the request around them.
const MAX_BATCH_BYTES = 200 * 1024;

/** Why SQS refused one entry of a batch. */
export class SendRefused extends Error {
  override name = "SendRefused";
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

function attributeValues(attributes: Record<string, string> | undefined): Record<string, MessageAttribute> | undefined {
  if (!attributes) return undefined;
  const out: Record<string, MessageAttribute> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== "") out[k] = { DataType: "String", StringValue: v }; // SQS refuses empty values
  return out;
}

export function sqsOutgoingQueue(sqs: SQSClient, url: string, options: SqsOutgoingOptions = {}): OutgoingQueue {
  const { timeoutMs = 10_000, attempts = 3, maxInFlight = 1, lingerMs = 0 } = options;
  const waiting: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const callOnce = async (batch: Pending[], signal: AbortSignal) =>
    await sendMessageBatch(sqs, url, batch.map((p, i) => ({ Id: String(i), MessageBody: p.body, ...(p.attributes ? { MessageAttributes: p.attributes } : {}) })), signal);

  const run = async (batch: Pending[]) => {
    const signal = AbortSignal.timeout(timeoutMs);
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      let result;
      try {
        result = await callOnce(pending, signal);
      } catch (error) {
        if (attempt + 1 >= attempts || signal.aborted || !retryable(error)) {
          for (const p of pending) p.reject(error);
          return;
        }
        await sleep(backoffDelay({ baseMs: 100, capMs: 1_000 }, attempt), signal);
        continue;
      }
      for (const ok of result.Successful ?? []) pending[Number(ok.Id)]?.resolve(ok.MessageId);
      const again: Pending[] = [];
      for (const failed of result.Failed ?? []) {
        const p = pending[Number(failed.Id)];
        if (!p) continue;
        // SenderFault: the message itself was refused; anything else is SQS's problem and worth another try.
        if (failed.SenderFault || attempt + 1 >= attempts) p.reject(new SendRefused(failed.Code, failed.Message ?? failed.Code ?? "refused"));
        else again.push(p);
      }
      pending = again;
      if (pending.length > 0) await sleep(backoffDelay({ baseMs: 100, capMs: 1_000 }, attempt), signal);
    }
  };

  let lingering: ReturnType<typeof setTimeout> | undefined;
  const pump = () => {
    scheduled = false;
    if (lingering !== undefined) {
      clearTimeout(lingering);
      lingering = undefined;
    }
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch: Pending[] = [];
      let bytes = 0;
      while (waiting.length > 0 && batch.length < MAX_ENTRIES && (batch.length === 0 || bytes + waiting[0]!.bytes <= MAX_BATCH_BYTES)) {
        const next = waiting.shift()!;
        bytes += next.bytes;
        batch.push(next);
      }
      inFlight += 1;
      void run(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  return {
    url,
    send(body, sendOptions = {}) {
      return new Promise((resolve, reject) => {
        if (sendOptions.signal?.aborted) return reject(sendOptions.signal.reason);
        const attributes = attributeValues(sendOptions.attributes);
        waiting.push({ body, ...(attributes ? { attributes } : {}), bytes: Buffer.byteLength(body, "utf8"), resolve, reject });
        if (waiting.length >= MAX_ENTRIES) {
          if (!scheduled) {
            scheduled = true;
            queueMicrotask(pump);
          }
        } else if (lingering === undefined && !scheduled) {
          lingering = setTimeout(pump, lingerMs);
        }
      });
    },
  };
}

/** Worth another try: throttling, server errors, network failures; not a refusal of the request itself. */
function retryable(error: unknown): boolean {
  const e = error as { $metadata?: { httpStatusCode?: number }; $fault?: string; name?: string };
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined) return true; // no HTTP answer at all: the network
  return e.$fault === "server" || status === 429 || status >= 500 || e.name === "ThrottlingException" || e.name === "RequestThrottled";
}
