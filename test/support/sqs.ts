// The fauxqs SQS emulator in process on port 0, and an SDK client pointed at it.
import { afterAll } from "bun:test";
import { SQSClient } from "@aws-sdk/client-sqs";
import { startFauxqs, type FauxqsServer } from "fauxqs";

export interface TestSqs {
  server: FauxqsServer;
  endpoint: string;
  client: SQSClient;
  /** Environment for a child process (a compiled tool) to reach the emulator. */
  env: Record<string, string>;
  createQueue(name: string, attributes?: Record<string, string>): string;
  /** Messages still on the queue: visible, delayed and in flight. */
  depth(name: string): number;
}

export async function startTestSqs(): Promise<TestSqs> {
  const server = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new SQSClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  afterAll(async () => {
    client.destroy();
    await server.stop();
  });
  return {
    server,
    endpoint,
    client,
    env: { AWS_ENDPOINT_URL_SQS: endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" },
    createQueue: (name, attributes) => server.createQueue(name, { attributes }).queueUrl,
    depth(name) {
      const q = server.inspectQueue(name);
      if (!q) return 0;
      return q.messages.ready.length + q.messages.delayed.length + q.messages.inflight.length;
    },
  };
}
