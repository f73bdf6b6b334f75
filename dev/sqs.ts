// The SQS emulator (fauxqs) in the stack's process on a free port, with every queue the tools use
// already created, and the environment a tool needs to reach it.
import { startFauxqs } from "fauxqs";

export interface StackSqs {
  endpoint: string;
  region: string;
  /** queue name → queue URL */
  queues: Record<string, string>;
  /** AWS_ENDPOINT_URL_SQS and stand-in credentials, for a child process. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

const REGION = "us-east-1";

export async function startSqs(queueNames: readonly string[]): Promise<StackSqs> {
  const server = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1", defaultRegion: REGION });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const queues: Record<string, string> = {};
  for (const name of new Set(queueNames)) queues[name] = server.createQueue(name, { region: REGION }).queueUrl;
  return {
    endpoint,
    region: REGION,
    queues,
    env: { AWS_ENDPOINT_URL_SQS: endpoint, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: "dev", AWS_SECRET_ACCESS_KEY: "dev" },
    stop: () => server.stop(),
  };
}
