// email-queues settings: the queue URLs (the original's rule for AWS, emulator and loopback URLs besides,
// any subset, shared queues), the flags, the webhook secrets, and secrets kept out of the startup line.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/core/errors.ts";
import { eventsSettings, isQueueUrl, maskedQueuesSettings, queuesSettings, type QueuesFlags } from "../../src/email/queues-config.ts";

const AWS = (name: string, region = "us-east-1") => `https://sqs.${region}.amazonaws.com/123456789012/${name}`;
const BASE = { DATABASE_URL: "postgres://email:db-password@db.example.com/email", FXA_EMAIL_HMACKEY: "the hmac key" };
const FLAGS: QueuesFlags = { verbosity: 0 };
const load = (env: Record<string, string | undefined>, flags: Partial<QueuesFlags> = {}) => queuesSettings({ ...FLAGS, ...flags }, { ...BASE, ...env });

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("queue URLs", () => {
  test("any subset; the type of a message comes from its notificationType, so one URL may serve all three", () => {
    const one = load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("all"), FXA_EMAIL_AWS_SQSURLS_COMPLAINT: AWS("all"), FXA_EMAIL_AWS_SQSURLS_DELIVERY: AWS("all") });
    expect(one.sources).toEqual([AWS("all")]);
    const three = load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("b"), FXA_EMAIL_AWS_SQSURLS_COMPLAINT: AWS("c"), FXA_EMAIL_AWS_SQSURLS_DELIVERY: AWS("d"), FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: AWS("n") });
    expect(three.sources).toEqual([AWS("b"), AWS("c"), AWS("d")]);
    expect(three.notificationQueue).toBe(AWS("n"));
    expect(load({ FXA_EMAIL_AWS_SQSURLS_DELIVERY: AWS("d") }).sources).toEqual([AWS("d")]);
  });

  test("the notification queue must not be a source (a forwarded delivery would come back forever)", () => {
    expect(usageError(() => load({ FXA_EMAIL_AWS_SQSURLS_DELIVERY: AWS("same"), FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: AWS("same") }))).toBe("FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: must not be one of the source queues");
  });

  test("no source queue is a usage error; no notification queue is a warning", () => {
    expect(usageError(() => load({ FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: AWS("n") }))).toContain("at least one source queue must be set");
    expect(load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("b") }).notices).toContain("FXA_EMAIL_AWS_SQSURLS_NOTIFICATION is not set: notifications are recorded but not forwarded");
  });

  test("the original's invalid_aws_*_queue_url tests: http, spaces, another host (without an endpoint)", () => {
    for (const kind of ["BOUNCE", "COMPLAINT", "DELIVERY", "NOTIFICATION"]) {
      const variable = `FXA_EMAIL_AWS_SQSURLS_${kind}`;
      const env = { FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("b"), [variable]: "http://sqs.us-east-1.amazonaws.com/123456789012/Q" };
      expect(usageError(() => load(env))).toStartWith(`${variable}: invalid SQS queue URL`);
    }
    for (const bad of [` ${AWS("q")}`, `${AWS("q")} `, "https://sqs.us-east-1.wibble.com/123456789012/MyQueue", "sqs://x/y", "not a url"]) {
      expect(isQueueUrl(bad, undefined)).toBe(false);
    }
    expect(isQueueUrl(AWS("MyQueue"), undefined)).toBe(true);
    expect(isQueueUrl("https://sqs.us-west-2.amazonaws.com/42/fxa-email-bounce-prod", undefined)).toBe(true);
  });

  test("emulator URLs are accepted with AWS_ENDPOINT_URL_SQS, loopback ones always", () => {
    const emulated = "http://sqs.us-east-1.127.0.0.1:4566/000000000000/bounces";
    expect(usageError(() => load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: emulated }))).toContain("other URLs need AWS_ENDPOINT_URL_SQS");
    const s = load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: emulated, AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:4566" });
    expect(s.sources).toEqual([emulated]);
    expect(s.sqs.endpoint).toBe("http://127.0.0.1:4566");
    expect(load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: "http://127.0.0.1:9324/queue/bounces" }).sources).toEqual(["http://127.0.0.1:9324/queue/bounces"]);
    for (const bad of ["http://127.0.0.1:9324/", "http://127.0.0.1:9324/q?x=1", "http://user:pw@127.0.0.1/q", "ftp://127.0.0.1/q"]) expect(isQueueUrl(bad, "http://127.0.0.1:9324")).toBe(false);
  });

  test("the region is where the queue is; the keys are FXA_EMAIL_AWS_KEYS_*", () => {
    expect(load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("b", "eu-west-1") }).sqs.region).toBe("eu-west-1");
    expect(load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: "http://127.0.0.1:9324/q/b" }).sqs.region).toBe("us-west-2"); // email-send's default
    const keyed = load({ FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("b"), FXA_EMAIL_AWS_KEYS_ACCESS: "AKIAEXAMPLE", FXA_EMAIL_AWS_KEYS_SECRET: "c2VjcmV0" });
    expect(keyed.sqs.credentials).toEqual({ accessKeyId: "AKIAEXAMPLE", secretAccessKey: "c2VjcmV0" });
  });

  test("the settings file's aws.sqsurls are used when the variables are not set", () => {
    const dir = mkdtempSync(join(tmpdir(), "queues-config-"));
    const file = join(dir, "settings.json");
    writeFileSync(file, JSON.stringify({ aws: { sqsurls: { bounce: AWS("fb"), complaint: AWS("fc"), delivery: AWS("fd"), notification: AWS("fn") } } }));
    const s = load({ FXA_EMAIL_CONFIG: file, FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("env-b") });
    expect(s.sources).toEqual([AWS("env-b"), AWS("fc"), AWS("fd")]);
    expect(s.notificationQueue).toBe(AWS("fn"));
  });
});

describe("flags", () => {
  const env = { FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("b"), FXA_EMAIL_AWS_SQSURLS_COMPLAINT: AWS("c") };

  test("defaults: 20 s long poll, 8 at once, no drain, no dead-letter queue, bare notifications", () => {
    const s = load(env);
    expect([s.queueWaitTime, s.concurrency, s.drain, s.deadLetterQueue, s.wrapOutgoing]).toEqual([20, 32, false, undefined, false]);
    expect(s.dbPoolSize).toBe(2); // one statement at a time, whatever the concurrency
  });

  test("values and their checks", () => {
    const s = load(env, { queue_wait_time: "0", concurrency: "32", drain: true, dead_letter_queue: AWS("dead"), wrap_outgoing: true });
    expect([s.queueWaitTime, s.concurrency, s.drain, s.deadLetterQueue, s.wrapOutgoing]).toEqual([0, 32, true, AWS("dead"), true]);
    expect(usageError(() => load(env, { queue_wait_time: "21" }))).toBe("--queue-wait-time: must be at most 20");
    expect(usageError(() => load(env, { concurrency: "0" }))).toBe("--concurrency: must be at least 1");
    expect(usageError(() => load(env, { dead_letter_queue: "nowhere" }))).toStartWith("--dead-letter-queue: invalid SQS queue URL");
    expect(usageError(() => load(env, { dead_letter_queue: AWS("b") }))).toBe("--dead-letter-queue: must not be one of the source queues");
  });

  test("email-send's settings apply: a bad one is a usage error naming it; production refuses the placeholder key", () => {
    expect(usageError(() => load({ ...env, FXA_EMAIL_LOG_LEVEL: "loud" }))).toStartWith("FXA_EMAIL_LOG_LEVEL:");
    expect(usageError(() => load({ ...env, FXA_EMAIL_ENV: "production", FXA_EMAIL_HMACKEY: undefined }))).toContain("FXA_EMAIL_HMACKEY");
    expect(usageError(() => queuesSettings(FLAGS, { FXA_EMAIL_AWS_SQSURLS_BOUNCE: AWS("b") }))).toContain("DATABASE_URL must be set");
  });
});

describe("serve: webhook secrets", () => {
  const base = { FXA_EMAIL_AWS_SQSURLS_NOTIFICATION: AWS("n") };
  const events = (env: Record<string, string>) => eventsSettings({ verbosity: 0 }, { ...BASE, ...base, ...env });

  test("at least one provider; a source queue is not needed", () => {
    expect(usageError(() => events({}))).toContain("FXA_EMAIL_EVENTS_SENDGRID_AUTH");
    const s = events({ FXA_EMAIL_EVENTS_SENDGRID_AUTH: "a-long-enough-secret" });
    expect(s.webhooks).toEqual({ sendgrid: { auth: "a-long-enough-secret" } });
    expect([s.host, s.port]).toEqual(["127.0.0.1", 8001]);
  });

  test("SocketLabs needs its three values; short ?auth= secrets are refused", () => {
    expect(usageError(() => events({ FXA_EMAIL_EVENTS_SOCKETLABS_AUTH: "a-long-enough-secret" }))).toContain("set all three or none");
    expect(usageError(() => events({ FXA_EMAIL_EVENTS_SENDGRID_AUTH: "short" }))).toBe("FXA_EMAIL_EVENTS_SENDGRID_AUTH: must be at least 16 characters");
    const s = events({ FXA_EMAIL_EVENTS_SOCKETLABS_AUTH: "a-long-enough-secret", FXA_EMAIL_EVENTS_SOCKETLABS_SECRETKEY: "sk", FXA_EMAIL_EVENTS_SOCKETLABS_VALIDATIONKEY: "vk" });
    expect(s.webhooks.socketlabs).toEqual({ auth: "a-long-enough-secret", secretKey: "sk", validationKey: "vk" });
    expect(events({ FXA_EMAIL_EVENTS_SENDGRID_AUTH: "a-long-enough-secret", FXA_EMAIL_EVENTS_SENDGRID_KEY: "x" }).notices).toContain("FXA_EMAIL_EVENTS_SENDGRID_KEY is not a setting of email-queues; ignored");
  });

  test("the startup line hides every secret", () => {
    const s = events({ FXA_EMAIL_EVENTS_SENDGRID_AUTH: "sendgrid-secret-value", FXA_EMAIL_EVENTS_SOCKETLABS_AUTH: "socketlabs-secret-value", FXA_EMAIL_EVENTS_SOCKETLABS_SECRETKEY: "sk-value", FXA_EMAIL_EVENTS_SOCKETLABS_VALIDATIONKEY: "vk-value", FXA_EMAIL_AWS_KEYS_ACCESS: "AKIAEXAMPLE", FXA_EMAIL_AWS_KEYS_SECRET: "c2VjcmV0" });
    const line = JSON.stringify(maskedQueuesSettings(s));
    for (const secret of ["sendgrid-secret-value", "socketlabs-secret-value", "sk-value", "vk-value", "AKIAEXAMPLE", "c2VjcmV0", "the hmac key", "db-password"]) expect(line).not.toContain(secret);
    expect(line).toContain(AWS("n"));
  });
});
