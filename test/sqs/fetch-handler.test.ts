// The SDK over fetch (createSqsClient({ fetch: true })) against the SQS emulator: the calls the tools
// make, an aborted long poll, an unreachable endpoint and refusals. (The emulator refuses characters past
// U+FFFF in bodies, which real SQS accepts, so none are sent here.)
import { describe, expect, test } from "bun:test";
import { DeleteMessageBatchCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../../src/sqs/client.ts";
import { startTestSqs } from "../support/sqs.ts";

const sqs = await startTestSqs();
const client = createSqsClient({ region: "us-east-1", endpoint: sqs.endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" }, fetch: true });

describe("the SDK over fetch", () => {
  test("send, batch send, receive, batch delete, queue URL lookup; bodies arrive byte for byte", async () => {
    const url = sqs.createQueue("fetch-basic");
    expect((await client.send(new GetQueueUrlCommand({ QueueName: "fetch-basic" }))).QueueUrl).toBe(url);
    const bodies = ['{"a":"é\\u0000"}', "x".repeat(200_000), "line\nbreak"];
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: bodies[0], MessageAttributes: { reason: { DataType: "String", StringValue: "r" } } }));
    const batch = await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(1).map((b, i) => ({ Id: String(i), MessageBody: b })) }));
    expect(batch.Successful?.length).toBe(2);
    const received: string[] = [];
    for (let round = 0; round < 5 && received.length < 3; round++) {
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ["All"] }));
      for (const m of Messages) received.push(m.Body!);
      if (Messages.length) await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
    expect(received.sort()).toEqual([...bodies].sort());
    expect(sqs.depth("fetch-basic")).toBe(0);
  });

  test("an aborted long poll rejects at once", async () => {
    const url = sqs.createQueue("fetch-abort");
    const controller = new AbortController();
    const started = performance.now();
    const receive = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }), { abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(receive).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("an endpoint that refuses connections is an error without an HTTP status (retryable)", async () => {
    const nowhere = createSqsClient({ region: "us-east-1", endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "x", secretAccessKey: "x" }, fetch: true });
    const error = await nowhere.send(new SendMessageCommand({ QueueUrl: "http://127.0.0.1:9/000000000000/q", MessageBody: "x" })).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBeUndefined();
    nowhere.destroy();
  });

  test("SQS refusals keep their status and name", async () => {
    const error = await client.send(new SendMessageCommand({ QueueUrl: sqs.createQueue("fetch-x").replace("fetch-x", "no-such"), MessageBody: "x" })).catch((e) => e);
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
    expect((error as Error).name).toContain("QueueDoesNotExist");
  });
});
