// Puts a benchmark's workload on a queue as fast as the emulator takes it: batches of 10, 16 in flight.
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

export async function fillQueue(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const entries = bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody }));
    sends.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    if (sends.length >= 16) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
}
