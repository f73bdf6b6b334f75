// The SQS client factory. Only cmd/ calls it; src/ receives the client.
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { fetchRequestHandler } from "./fetch-handler.ts";

export interface SqsClientOptions {
  /** undefined: the SDK's region chain (AWS_REGION, profile, instance metadata). */
  region?: string;
  /** AWS_ENDPOINT_URL_SQS: an emulator or a VPC endpoint. */
  endpoint?: string;
  /** undefined: the SDK's credential chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Send requests with the runtime's fetch instead of the SDK's node:http handler (about half the CPU under Bun). */
  fetch?: boolean;
  /**
   * false: the SDK does not check MD5OfBody. The SDK fails a whole receive on one mismatch (so one
   * corrupted message stops the queue); a caller that checks each message itself turns it off.
   */
  md5?: boolean;
}

export function createSqsClient(options: SqsClientOptions): SQSClient {
  return new SQSClient({
    // An emulator does not care about the region, but the SDK refuses to sign without one.
    region: options.region ?? (options.endpoint ? "us-east-1" : undefined),
    endpoint: options.endpoint,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.fetch ? { requestHandler: fetchRequestHandler() } : {}),
    ...(options.md5 === false ? { md5: false as const } : {}),
    maxAttempts: 1, // our consumer loop owns retries and backoff
  });
}

/** Accepts a queue name or a full queue URL. */
export async function resolveQueueUrl(sqs: SQSClient, queue: string): Promise<string> {
  if (/^https?:\/\//.test(queue)) return queue;
  const result = await sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
  if (!result.QueueUrl) throw new Error(`queue ${queue} has no URL`);
  return result.QueueUrl;
}
