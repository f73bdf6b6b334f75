import { describe, expect, test } from "bun:test";
import { SendMessageBatchCommand, type Message } from "@aws-sdk/client-sqs";
import { sleep as defaultSleep } from "../../src/core/backoff.ts";
import { InvalidInputError, TransientError } from "../../src/core/errors.ts";
import { runConsumer, type ConsumerHandler } from "../../src/sqs/consumer.ts";
import { captureLog } from "../support/log.ts";
import { startTestSqs } from "../support/sqs.ts";

const sqs = await startTestSqs();
let queueCounter = 0;

async function queueWith(bodies: string[], attributes?: Record<string, string>) {
  const name = `consumer-${++queueCounter}`;
  const url = sqs.createQueue(name, attributes);
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map((b, j) => ({ Id: String(j), MessageBody: b })) }));
  }
  return { name, url };
}

const passthrough = (
  handle: (body: string) => Promise<void>,
  key?: (body: string) => string,
  withSignal?: (body: string, signal: AbortSignal) => Promise<void>,
): ConsumerHandler<string> => ({
  decode: (m: Message) => m.Body ?? "",
  orderingKey: key,
  handle: (body, _message, signal) => (withSignal ? withSignal(body, signal) : handle(body)),
});

describe("runConsumer", () => {
  test("deletes every handled message and drains to empty", async () => {
    const bodies = Array.from({ length: 35 }, (_, i) => `m${i}`);
    const { name, url } = await queueWith(bodies);
    const seen: string[] = [];
    const stats = await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 4, drain: true,
      handler: passthrough(async (b) => void seen.push(b)),
    });
    expect(seen.sort()).toEqual([...bodies].sort());
    expect(stats).toMatchObject({ received: 35, deleted: 35, failed: 0 });
    expect(sqs.depth(name)).toBe(0);
  });

  test("a handler that throws leaves its message on the queue; the others are deleted", async () => {
    const { name, url } = await queueWith(["ok1", "bad", "ok2"], { VisibilityTimeout: "60" });
    const captured = captureLog();
    const stats = await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captured.log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 2, drain: true, sleep: async () => {},
      handler: passthrough(async (b) => {
        if (b === "bad") throw new Error("database down");
      }),
    });
    expect(stats).toMatchObject({ received: 3, deleted: 2, failed: 1 });
    const q = sqs.server.inspectQueue(name)!;
    expect(q.messages.inflight.map((m) => m.message.body)).toEqual(["bad"]);
    expect(captured.messages()).toContain("Message left on the queue for redelivery");
  });

  test("the error vocabulary: InvalidInputError is logged with its id, counted and deleted; TransientError and other errors leave the message", async () => {
    const { name, url } = await queueWith(["ok", "undecodable", "unprocessable", "transient", "bug"], { VisibilityTimeout: "60" });
    const captured = captureLog();
    const refused: string[] = [];
    const stats = await runConsumer<string>({
      sqs: sqs.client, queueUrl: url, log: captured.log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 2, drain: true, sleep: async () => {},
      observer: { invalid: (m, error) => void refused.push(`${m.Body}: ${error.message}`) },
      handler: {
        decode: (m) => {
          if (m.Body === "undecodable") throw new InvalidInputError("not JSON");
          return m.Body ?? "";
        },
        handle: async (body) => {
          if (body === "unprocessable") throw new InvalidInputError("no such notification type");
          if (body === "transient") throw new TransientError("database unavailable: connection refused");
          if (body === "bug") throw new TypeError("undefined is not a function");
        },
      },
    });
    expect(stats).toMatchObject({ received: 5, deleted: 3, invalid: 2, failed: 2 });
    expect(refused.sort()).toEqual(["undecodable: not JSON", "unprocessable: no such notification type"]);
    const left = sqs.server.inspectQueue(name)!.messages.inflight.map((m) => m.message.body).sort();
    expect(left).toEqual(["bug", "transient"]);
    const byMessage = new Map(captured.lines.map((l) => [l.msg + "|" + String(l.fields.error ?? ""), l]));
    const invalidLine = captured.lines.find((l) => l.msg === "not JSON")!;
    expect(invalidLine.severity).toBe(3);
    expect(typeof invalidLine.fields.messageId).toBe("string");
    const transientLine = [...byMessage.values()].find((l) => String(l.fields.error).startsWith("database unavailable"))!;
    expect(transientLine).toMatchObject({ severity: 4, msg: "Message left on the queue for redelivery" });
    const bugLine = [...byMessage.values()].find((l) => String(l.fields.error).startsWith("TypeError: undefined is not a function"))!;
    expect(bugLine).toMatchObject({ severity: 3, msg: "Message left on the queue for redelivery" });
    expect(String(bugLine.fields.error)).toContain("\n    at "); // an unexpected error keeps its stack
  });

  test("never runs more than `concurrency` handlers at once", async () => {
    const { url } = await queueWith(Array.from({ length: 40 }, (_, i) => `c${i}`));
    let running = 0;
    let peak = 0;
    await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 3, drain: true,
      handler: passthrough(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await Promise.resolve();
        await new Promise((r) => setImmediate(r));
        running -= 1;
      }),
    });
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });

  test("with two receivers, two receive calls are under way at once; each message is handled once and what is held stays within concurrency + a batch per receiver", async () => {
    const bodies = Array.from({ length: 95 }, (_, i) => `r${i}`);
    const { name, url } = await queueWith(bodies);
    let receiving = 0;
    let peakReceiving = 0;
    let held = 0; // received, not yet settled
    let peakHeld = 0;
    const counting = {
      send: async (command: { constructor: { name: string } }, options?: unknown) => {
        const isReceive = command.constructor.name === "ReceiveMessageCommand";
        if (isReceive) peakReceiving = Math.max(peakReceiving, ++receiving);
        try {
          const result = await sqs.client.send(command as never, options as never);
          if (isReceive) peakHeld = Math.max(peakHeld, (held += (result as { Messages?: unknown[] }).Messages?.length ?? 0));
          return result;
        } finally {
          if (isReceive) receiving -= 1;
        }
      },
    } as unknown as typeof sqs.client;
    const seen: string[] = [];
    const stats = await runConsumer({
      sqs: counting, queueUrl: url, log: captureLog().log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 4, receivers: 2, drain: true,
      handler: passthrough(async (b) => {
        seen.push(b);
        await new Promise((r) => setImmediate(r));
        held -= 1;
      }),
    });
    expect(peakReceiving).toBe(2);
    expect(peakHeld).toBeLessThanOrEqual(4 + 2 * 10);
    expect(seen.sort()).toEqual([...bodies].sort());
    expect(stats).toMatchObject({ received: 95, deleted: 95, failed: 0 });
    expect(sqs.depth(name)).toBe(0);
  });

  test("messages with the same ordering key are handled one at a time, in order", async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 30; i++) bodies.push(`${["a", "b", "c"][i % 3]}:${i}`);
    const { url } = await queueWith(bodies);
    const order: Record<string, number[]> = { a: [], b: [], c: [] };
    const active = new Set<string>();
    let overlapped = false;
    await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 8, drain: true,
      handler: passthrough(
        async (b) => {
          const [key, n] = b.split(":") as [string, string];
          if (active.has(key)) overlapped = true;
          active.add(key);
          await new Promise((r) => setImmediate(r));
          order[key]!.push(Number(n));
          active.delete(key);
        },
        (b) => b.split(":")[0]!,
      ),
    });
    expect(overlapped).toBe(false);
    for (const key of ["a", "b", "c"]) {
      expect(order[key]).toEqual([...order[key]!].sort((x, y) => x - y));
      expect(order[key]!.length).toBe(10);
    }
  });

  test("abort stops receiving but finishes the messages already in flight", async () => {
    const { name, url } = await queueWith(Array.from({ length: 10 }, (_, i) => `s${i}`), { VisibilityTimeout: "60" });
    const controller = new AbortController();
    const handled: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const consumer = runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: controller.signal,
      waitTimeSeconds: 20, concurrency: 10,
      handler: passthrough(async (b) => {
        if (handled.length === 0) {
          controller.abort(); // SIGTERM arrives while a batch is being handled
          release();
        }
        await gate;
        handled.push(b);
      }),
    });
    const stats = await consumer;
    expect(handled.length).toBe(10);
    expect(stats.deleted).toBe(10);
    expect(sqs.depth(name)).toBe(0);
  });

  test("abort interrupts a long poll at once", async () => {
    const { url } = await queueWith([]);
    const controller = new AbortController();
    const started = performance.now();
    const consumer = runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: controller.signal,
      waitTimeSeconds: 20, concurrency: 1, handler: passthrough(async () => {}),
    });
    setImmediate(() => controller.abort());
    await consumer;
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("handlers receive the abandon signal; one that honours it leaves its message on the queue", async () => {
    const { name, url } = await queueWith(["slow"], { VisibilityTimeout: "60" });
    const stop = new AbortController();
    const abandon = new AbortController();
    let received: AbortSignal | undefined;
    const captured = captureLog();
    const stats = await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captured.log, signal: stop.signal, abandonSignal: abandon.signal,
      waitTimeSeconds: 0, concurrency: 1,
      handler: passthrough(async () => {}, undefined, async (_body, signal) => {
        received = signal;
        stop.abort(); // SIGTERM while handling, then the stop deadline comes near
        abandon.abort();
        if (signal.aborted) throw signal.reason;
      }),
    });
    expect(received).toBe(abandon.signal);
    expect(stats).toMatchObject({ received: 1, deleted: 0, abandoned: 1, failed: 0 });
    expect(sqs.server.inspectQueue(name)!.messages.inflight.map((m) => m.message.body)).toEqual(["slow"]);
    expect(captured.messages()).toContain("Stop deadline: message abandoned, left on the queue");
  });

  test("without abandonSignal, handlers get a signal that never aborts", async () => {
    const { url } = await queueWith(["one"]);
    const signals: AbortSignal[] = [];
    await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 1, drain: true,
      handler: passthrough(async () => {}, undefined, async (_body, signal) => void signals.push(signal)),
    });
    expect(signals.length).toBe(1);
    expect(signals[0]!.aborted).toBe(false);
  });

  test("after abandonSignal aborts, messages not yet started are not started", async () => {
    const { name, url } = await queueWith(["first", "second", "third"], { VisibilityTimeout: "60" });
    const stop = new AbortController();
    const abandon = new AbortController();
    const started: string[] = [];
    const stats = await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: stop.signal, abandonSignal: abandon.signal,
      waitTimeSeconds: 0, concurrency: 1,
      handler: passthrough(async (b) => {
        started.push(b);
        stop.abort();
        abandon.abort(); // this handler ignores the signal and finishes; the others must not start
      }),
    });
    expect(started.length).toBe(1);
    expect(stats).toMatchObject({ received: 3, deleted: 1, abandoned: 2 });
    expect(sqs.depth(name)).toBe(2);
  });

  test("stopping does not wait out a backoff sleep", async () => {
    const { url } = await queueWith(["bad"], { VisibilityTimeout: "60" });
    const stop = new AbortController();
    let attempts = 0;
    // A failing handler puts the loop into a backoff of about ten minutes (random() = 1); the stop
    // signal, sent once the loop is in that sleep, must end it at once (the test would time out).
    const stats = await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captureLog().log, signal: stop.signal,
      waitTimeSeconds: 0, concurrency: 1, random: () => 1, backoff: { baseMs: 600_000, capMs: 600_000 },
      sleep: (ms, signal) => {
        setImmediate(() => stop.abort());
        return defaultSleep(ms, signal);
      },
      handler: passthrough(async () => {
        attempts += 1;
        throw new Error("database down");
      }),
    });
    expect(attempts).toBe(1);
    expect(stats.failed).toBe(1);
  });

  test("SQS errors back off and never crash the loop; it recovers when the queue comes back", async () => {
    const name = `consumer-gone-${++queueCounter}`;
    const url = sqs.createQueue(name);
    sqs.server.deleteQueue(name);
    const captured = captureLog();
    const delays: number[] = [];
    const handled: string[] = [];
    const stats = await runConsumer({
      sqs: sqs.client, queueUrl: url, log: captured.log, signal: new AbortController().signal,
      waitTimeSeconds: 0, concurrency: 1, drain: true, random: () => 1,
      backoff: { baseMs: 100, capMs: 1_000 },
      sleep: async (ms) => {
        delays.push(ms);
        if (delays.length === 3) {
          sqs.createQueue(name);
          sqs.server.sendMessage(name, "back");
        }
      },
      handler: passthrough(async (b) => void handled.push(b)),
    });
    expect(delays).toEqual([100, 200, 400]);
    expect(stats.receiveErrors).toBe(3);
    expect(handled).toEqual(["back"]);
    expect(captured.messages().filter((m) => m.includes("backing off")).length).toBe(3);
  });
});
