// The email service's test fixtures: a migrated database per test file, bounce rows aged relative to
// a clock, a provider that records what it was asked to send, and an app wired to all of them.
import type { Sql } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { insertBounce } from "../../src/email/bounce-store.ts";
import type { DeliveryProblemLimits } from "../../src/email/delivery-problems.ts";
import { parseDuration } from "../../src/email/duration.ts";
import { EmailError } from "../../src/email/errors.ts";
import { EMAIL_DOMAIN, EMAIL_MIGRATIONS } from "../../src/email/migrations/index.ts";
import type { EmailProvider, OutgoingEmail, ProviderName } from "../../src/email/providers/provider.ts";
import { createEmailApp, type EmailAppDeps } from "../../src/email/send-api.ts";
import type { CapturedLog } from "./log.ts";
import { captureLog } from "./log.ts";
import { createTestDatabase } from "./postgres.ts";

export interface EmailTestDb {
  url: string;
  sql: Sql;
  reset(): Promise<void>;
}

/** Call at the top level of a test file: the database is dropped after the file's tests. */
export async function createEmailTestDb(): Promise<EmailTestDb> {
  const { url, sql } = await createTestDatabase();
  await migrate(sql, EMAIL_DOMAIN, EMAIL_MIGRATIONS);
  return { url, sql, reset: async () => void (await sql`truncate email_bounces, email_message_data, email_callers, email_send_counters`) };
}

export interface AgedRecord {
  bounceType: number;
  bounceSubType: number;
  ageMs: number;
}

export async function insertAgedRecords(sql: Sql, email: string, records: readonly AgedRecord[], now: number): Promise<void> {
  for (const r of records) await insertBounce(sql, { email, bounceType: r.bounceType, bounceSubType: r.bounceSubType, createdAt: now - r.ageMs });
}

type LimitText = { period: string; limit: number };

/** Limits as the vectors write them ({period: "day", limit: 0}); `enabled` defaults to true. */
export function limitsFrom(spec: { enabled?: boolean; complaint?: LimitText[]; hard?: LimitText[]; soft?: LimitText[] }): DeliveryProblemLimits {
  const convert = (list: LimitText[] = []) => list.map((l) => ({ ...l, periodMs: parseDuration(l.period) }));
  return { enabled: spec.enabled ?? true, complaint: convert(spec.complaint), hard: convert(spec.hard), soft: convert(spec.soft) };
}

/** The original's defaults (spec/email.md §5.1). */
export const DEFAULT_LIMITS = limitsFrom({
  complaint: [{ period: "day", limit: 0 }, { period: "year", limit: 1 }],
  hard: [{ period: "day", limit: 0 }, { period: "year", limit: 1 }],
  soft: [{ period: "5 minutes", limit: 0 }],
});

export interface RecordingProvider extends EmailProvider {
  sent: OutgoingEmail[];
}

/** Records every message; answers `id` (or throws `fail` when given). */
export function recordingProvider(name: ProviderName = "mock", id = "deadbeef", fail?: () => Error): RecordingProvider {
  const sent: OutgoingEmail[] = [];
  return {
    name,
    sent,
    async send(email) {
      if (fail) throw fail();
      sent.push(email);
      return id;
    },
  };
}

/** resolveProvider over a small table: unknown → `Invalid payload: <name>`, missing → not enabled. */
export function resolverFor(providers: EmailProvider[], defaultName: ProviderName = "mock") {
  const table = new Map(providers.map((p) => [p.name as string, p]));
  return (requested: string | undefined): EmailProvider => {
    const name = requested ?? defaultName;
    if (!["mock", "ses", "sendgrid", "smtp", "socketlabs"].includes(name)) throw new EmailError("InvalidPayload", name);
    const provider = table.get(name);
    if (!provider) throw new EmailError("InvalidPayload", `provider \`${name}\` is not enabled`);
    return provider;
  };
}

export const TEST_VERSION = { build: "TBD", commit: "TBD", source: "https://github.com/mozilla/fxa-email-service", version: "TBD" };
export const HMAC_KEY = "test hmac key";

export interface TestApp {
  app: ReturnType<typeof createEmailApp>;
  provider: RecordingProvider;
  captured: CapturedLog;
}

/** An app on `sql` with a recording mock provider; `overrides` replace any dependency. */
export function testApp(sql: Sql, options: Partial<EmailAppDeps> & { provider?: RecordingProvider } = {}): TestApp {
  const { provider = recordingProvider(), ...overrides } = options;
  const captured = captureLog();
  const app = createEmailApp({
    sql,
    log: captured.log,
    resolveProvider: resolverFor([provider]),
    limits: DEFAULT_LIMITS,
    hmacKey: HMAC_KEY,
    messageDataTtlMs: 30 * 86_400_000,
    version: TEST_VERSION,
    ...overrides,
  });
  return { app, provider, captured };
}

export const JSON_HEADERS = { "content-type": "application/json" };

export async function postSend(app: TestApp["app"], body: string | Uint8Array, headers: Record<string, string> = JSON_HEADERS): Promise<Response> {
  return await app.request("/send", { method: "POST", headers, body });
}

/** An OutgoingEmail for provider tests: foo@example.com, subject "bar", text "baz", unless overridden. */
export const outgoingEmail = (overrides: Partial<OutgoingEmail> = {}): OutgoingEmail => ({
  to: "foo@example.com", cc: [], subject: "bar", headers: {}, text: "baz", ...overrides,
});

/** The EmailError a provider call rejected with (fails the test when it resolved or threw something else). */
export async function rejection(promise: Promise<unknown>): Promise<EmailError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof EmailError)) throw new Error(`expected an EmailError, got ${String(error)}`);
    return error;
  }
  throw new Error("expected a rejection");
}
