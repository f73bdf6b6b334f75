// sendMessageBatch: the same messages land as through the SDK (against the emulator), the request is
// signed exactly as the SDK's own signer signs it, it goes where the SDK would send it, and SQS's
// refusals come back in the SDK's error shape.
import { afterAll, describe, expect, test } from "bun:test";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { errorName, sendMessageBatch, SqsCallError } from "../../src/sqs/send-batch.ts";
import { startTestSqs } from "../support/sqs.ts";

const sqs = await startTestSqs();

interface Captured {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A loopback server standing in for SQS: records each request and answers what the test sets. */
function fakeSqs(answer: () => Response = () => Response.json({ Successful: [{ Id: "0", MessageId: "m-0" }] })) {
  const requests: Captured[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const headers: Record<string, string> = {};
      request.headers.forEach((v, k) => (headers[k] = v));
      requests.push({ method: request.method, path: new URL(request.url).pathname, headers, body: await request.text() });
      return answer();
    },
  });
  afterAll(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}`, requests };
}

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

/**
 * Characters SQS allows in a body: #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD (a sample). SQS also allows
 * #x10000-#x10FFFF; the emulator refuses them, so they are left out here.
 */
function allowedCharacters(): string {
  let s = "\t\n\r";
  for (let c = 0x20; c < 0xd800; c += 37) s += String.fromCodePoint(c);
  for (let c = 0xe000; c <= 0xfffd; c += 41) s += String.fromCodePoint(c);
  return s + `"\\/\u2028\u2029</script>`;
}

describe("against the emulator", () => {
  test("every message lands with its body and attributes byte for byte, and each entry's id comes back", async () => {
    const url = sqs.createQueue("send-batch-roundtrip");
    const bodies = [allowedCharacters(), JSON.stringify({ notificationType: "Bounce", mail: { messageId: "x" } }), "x".repeat(20_000), "ü", " "];
    const result = await sendMessageBatch(sqs.client, url, bodies.map((b, i) => ({ Id: String(i), MessageBody: b, ...(i === 1 ? { MessageAttributes: { reason: { DataType: "String", StringValue: "bad \"json\"" } } } : {}) })));
    expect(result.Failed ?? []).toEqual([]);
    expect(result.Successful!.map((s) => s.Id).sort()).toEqual(["0", "1", "2", "3", "4"]);
    const received = (await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"] }))).Messages ?? [];
    expect(received.map((m) => m.Body).sort()).toEqual([...bodies].sort());
    const withAttribute = received.find((m) => m.MessageAttributes?.reason);
    expect(withAttribute?.MessageAttributes?.reason?.StringValue).toBe("bad \"json\"");
    expect(new Set(result.Successful!.map((s) => s.MessageId))).toEqual(new Set(received.map((m) => m.MessageId)));
  });

  test("a queue that does not exist is the SDK's client fault, with SQS's error name", async () => {
    const error = await sendMessageBatch(sqs.client, `${sqs.endpoint}/000000000000/no-such-queue`, [{ Id: "0", MessageBody: "x" }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqsCallError);
    expect((error as SqsCallError).$fault).toBe("client");
    expect((error as SqsCallError).$metadata.httpStatusCode).toBe(400);
    expect((error as SqsCallError).name).toMatch(/QueueDoesNotExist|NonExistentQueue/);
  });
});

describe("signing", () => {
  for (const [label, creds] of [
    ["long-term keys", credentials],
    ["temporary credentials (session token)", { ...credentials, sessionToken: "FQoGZXIvYXdzEXAMPLETOKEN" }],
  ] as const) {
    test(`${label}: the SDK's signer, re-signing the request received at its own x-amz-date, gets the same signature`, async () => {
      const fake = fakeSqs();
      const client = new SQSClient({ region: "eu-central-1", endpoint: fake.url, credentials: creds });
      await sendMessageBatch(client, `${fake.url}/123456789012/q`, [{ Id: "0", MessageBody: "hello" }]);
      const [got] = fake.requests;
      expect(got!.method).toBe("POST");
      expect(got!.headers["x-amz-target"]).toBe("AmazonSQS.SendMessageBatch");
      expect(got!.headers["content-type"]).toBe("application/x-amz-json-1.0");
      expect(JSON.parse(got!.body)).toEqual({ QueueUrl: `${fake.url}/123456789012/q`, Entries: [{ Id: "0", MessageBody: "hello" }] });
      expect(got!.headers.authorization).toContain(`Credential=AKIDEXAMPLE/${got!.headers["x-amz-date"]!.slice(0, 8)}/eu-central-1/sqs/aws4_request`);
      if ("sessionToken" in creds) expect(got!.headers["x-amz-security-token"]).toBe(creds.sessionToken);
      const d = got!.headers["x-amz-date"]!;
      const signingDate = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
      const signer = (await (client.config as unknown as { signer: () => Promise<{ sign(r: object, o: object): Promise<{ headers: Record<string, string> }> }> }).signer());
      const url = new URL(fake.url);
      const resigned = await signer.sign(
        {
          method: "POST", protocol: "http:", hostname: url.hostname, port: Number(url.port), path: "/", query: {},
          headers: { host: url.host, "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessageBatch" },
          body: got!.body,
        },
        { signingDate },
      );
      expect(got!.headers.authorization).toBe(resigned.headers.authorization!);
    });
  }

  test("the payload hash is the body's SHA-256, and the signature covers it", async () => {
    const fake = fakeSqs();
    const client = new SQSClient({ region: "us-east-1", endpoint: fake.url, credentials });
    await sendMessageBatch(client, `${fake.url}/1/q`, [{ Id: "0", MessageBody: "hello" }]);
    await sendMessageBatch(client, `${fake.url}/1/q`, [{ Id: "0", MessageBody: "hellO" }]);
    const { createHash } = await import("node:crypto");
    for (const got of fake.requests) {
      expect(got.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(got.body).digest("hex"));
      expect(got.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
    }
    // One signer per client, reused: two bodies, two signatures.
    expect(fake.requests[0]!.headers.authorization).not.toBe(fake.requests[1]!.headers.authorization);
  });
});

describe("where the request goes", () => {
  test("without a configured endpoint: the queue URL's origin, as the SDK's useQueueUrlAsEndpoint", async () => {
    const fake = fakeSqs();
    const client = new SQSClient({ region: "us-west-2", credentials });
    await sendMessageBatch(client, `${fake.url}/123456789012/fxa-email-notification`, [{ Id: "0", MessageBody: "x" }]);
    expect(fake.requests.map((r) => r.path)).toEqual(["/"]);
  });

  test("with a configured endpoint (AWS_ENDPOINT_URL_SQS, a VPC endpoint): there, whatever host the queue URL names", async () => {
    const endpoint = fakeSqs();
    const named = fakeSqs();
    const client = new SQSClient({ region: "us-west-2", endpoint: endpoint.url, credentials });
    await sendMessageBatch(client, `${named.url}/123456789012/q`, [{ Id: "0", MessageBody: "x" }]);
    expect(endpoint.requests).toHaveLength(1);
    expect(named.requests).toHaveLength(0);
  });
});

describe("refusals, in the SDK's shape (what the forwarder's retry rule reads)", () => {
  const cases: [string, () => Response, { name: string; fault: "client" | "server"; status: number }][] = [
    ["throttled", () => Response.json({ __type: "com.amazonaws.sqs#RequestThrottled", message: "slow down" }, { status: 400 }), { name: "RequestThrottled", fault: "client", status: 400 }],
    ["a server error", () => Response.json({ __type: "InternalError", message: "oops" }, { status: 500 }), { name: "InternalError", fault: "server", status: 500 }],
    ["an error without a type", () => Response.json({ message: "who knows" }, { status: 403 }), { name: "Http403", fault: "client", status: 403 }],
    ["an HTML error page", () => new Response("<html>502 Bad Gateway</html>", { status: 502 }), { name: "Http502", fault: "server", status: 502 }],
    ["a 200 whose body is not JSON", () => new Response("<html>captive portal</html>", { status: 200 }), { name: "InvalidResponse", fault: "server", status: 502 }],
  ];
  for (const [label, answer, expected] of cases) {
    test(label, async () => {
      const fake = fakeSqs(answer);
      const client = new SQSClient({ region: "us-east-1", endpoint: fake.url, credentials });
      const error = (await sendMessageBatch(client, `${fake.url}/1/q`, [{ Id: "0", MessageBody: "x" }]).catch((e: unknown) => e)) as SqsCallError;
      expect(error).toBeInstanceOf(SqsCallError);
      expect({ name: error.name, fault: error.$fault, status: error.$metadata.httpStatusCode }).toEqual(expected);
    });
  }

  test("the entries SQS refused one by one come back as Failed, the rest as Successful", async () => {
    const fake = fakeSqs(() => Response.json({ Successful: [{ Id: "1", MessageId: "m" }], Failed: [{ Id: "0", SenderFault: true, Code: "InvalidMessageContents", Message: "bad" }] }));
    const client = new SQSClient({ region: "us-east-1", endpoint: fake.url, credentials });
    const result = await sendMessageBatch(client, `${fake.url}/1/q`, [{ Id: "0", MessageBody: "x" }, { Id: "1", MessageBody: "y" }]);
    expect(result).toEqual({ Successful: [{ Id: "1", MessageId: "m" }], Failed: [{ Id: "0", SenderFault: true, Code: "InvalidMessageContents", Message: "bad" }] });
  });

  test("error names: namespace and suffix dropped", () => {
    expect(errorName("com.amazonaws.sqs#QueueDoesNotExist")).toBe("QueueDoesNotExist");
    expect(errorName("AWS.SimpleQueueService.NonExistentQueue:Sender")).toBe("AWS.SimpleQueueService.NonExistentQueue");
    expect(errorName("ThrottlingException")).toBe("ThrottlingException");
    expect(errorName("")).toBeUndefined();
    expect(errorName(42)).toBeUndefined();
    expect(errorName("ns#")).toBeUndefined();
  });
});
