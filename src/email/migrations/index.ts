// The email schema (DESIGN.md §4): bounce and complaint records (numeric codes of spec/email.md §6.1)
// and the metadata stored by /send. `email-send migrate` applies it; services only check it.
import type { Migration } from "../../db/migrate.ts";

export const EMAIL_DOMAIN = "email";

export const EMAIL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "bounces_and_message_data",
    sql: `
      -- One row per recorded problem. A surrogate id replaces the auth db's (email, createdAt) key,
      -- which refused two problems for one address in the same millisecond.
      CREATE TABLE IF NOT EXISTS email_bounces (
        id BIGSERIAL PRIMARY KEY,
        email VARCHAR(255) NOT NULL,
        bounce_type SMALLINT NOT NULL CHECK (bounce_type BETWEEN 0 AND 3),
        bounce_sub_type SMALLINT NOT NULL CHECK (bounce_sub_type BETWEEN 0 AND 14),
        created_at BIGINT NOT NULL
      );
      -- The send check reads the newest 20 rows of an address.
      CREATE INDEX IF NOT EXISTS email_bounces_email_created_at_idx ON email_bounces (email, created_at DESC, id DESC);

      -- Metadata given to /send, keyed by hex HMAC-SHA256(hmackey, provider's raw message id).
      CREATE TABLE IF NOT EXISTS email_message_data (
        key CHAR(64) PRIMARY KEY,
        data TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS email_message_data_expires_at_idx ON email_message_data (expires_at);
    `,
  },
  {
    version: 2,
    name: "bounce_feedback_key",
    sql: `
      -- email-queues records each problem once: SQS redelivers, providers retry webhooks. The key is
      -- hex SHA-256 of the notification's feedbackId (any length or content in, 64 characters out);
      -- rows written by other means (tests, imports) have none and are never deduplicated.
      ALTER TABLE email_bounces ADD COLUMN IF NOT EXISTS feedback_key CHAR(64);
      CREATE UNIQUE INDEX IF NOT EXISTS email_bounces_feedback_key_idx
        ON email_bounces (feedback_key, email, bounce_type) WHERE feedback_key IS NOT NULL;
    `,
  },
];

export const EMAIL_SCHEMA = { domain: EMAIL_DOMAIN, migrations: EMAIL_MIGRATIONS } as const;
