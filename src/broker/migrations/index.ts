// The broker's schema (DESIGN.md §4; spec/event-broker.md §3, §4.1, §5.2 "Port design"): the client
// registry, the login store and the delivery outbox with every attempt. `event-broker migrate` applies it.
import type { Migration } from "../../db/migrate.ts";

export const BROKER_DOMAIN = "broker";

/** The channel a change to broker_clients is announced on (the registry LISTENs). */
export const CLIENTS_CHANNEL = "broker_clients";

export const BROKER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "clients_logins_deliveries",
    sql: `
      -- Relying parties: where their SETs go and how. Firestore clients collection in the original.
      CREATE TABLE IF NOT EXISTS broker_clients (
        client_id TEXT PRIMARY KEY,
        webhook_url TEXT NOT NULL,
        is_resource_server BOOLEAN NOT NULL DEFAULT false,
        delivery_format TEXT NOT NULL DEFAULT 'bearer' CHECK (delivery_format IN ('bearer', 'rfc8935')),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      -- Every change is announced, so running brokers use it within a second (the payload is the client id).
      CREATE OR REPLACE FUNCTION broker_clients_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${CLIENTS_CHANNEL}', COALESCE(NEW.client_id, OLD.client_id));
        RETURN NULL;
      END $$;
      DROP TRIGGER IF EXISTS broker_clients_notify ON broker_clients;
      CREATE TRIGGER broker_clients_notify AFTER INSERT OR UPDATE OR DELETE ON broker_clients
        FOR EACH ROW EXECUTE FUNCTION broker_clients_notify();

      -- Which OAuth clients each user logged into; seq keeps the order they were first seen.
      CREATE TABLE IF NOT EXISTS broker_logins (
        uid TEXT NOT NULL,
        client_id TEXT NOT NULL,
        seq BIGSERIAL NOT NULL,
        first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (uid, client_id)
      );
      CREATE INDEX IF NOT EXISTS broker_logins_uid_seq_idx ON broker_logins (uid, seq);

      -- The outbox: one row per (event, relying party), written in the transaction that handled the event.
      -- available_at is when it may next be tried; claimed_until is a worker's lease while it tries it.
      CREATE TABLE IF NOT EXISTS broker_deliveries (
        id BIGSERIAL PRIMARY KEY,
        client_id TEXT NOT NULL,
        uid TEXT NOT NULL,
        event TEXT NOT NULL,
        payload JSONB NOT NULL,
        jti UUID NOT NULL,
        source_message_id TEXT,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'superseded')),
        created_at TIMESTAMPTZ NOT NULL,
        available_at TIMESTAMPTZ NOT NULL,
        claimed_until TIMESTAMPTZ,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER,
        last_error TEXT,
        finished_at TIMESTAMPTZ
      );
      CREATE INDEX IF NOT EXISTS broker_deliveries_due_idx ON broker_deliveries (available_at) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS broker_deliveries_client_idx ON broker_deliveries (client_id, status, id);
      CREATE INDEX IF NOT EXISTS broker_deliveries_uid_pending_idx ON broker_deliveries (uid) WHERE status = 'pending';

      -- Every try: what the relying party answered (or why there was no answer) and how long it took.
      CREATE TABLE IF NOT EXISTS broker_attempts (
        id BIGSERIAL PRIMARY KEY,
        delivery_id BIGINT NOT NULL REFERENCES broker_deliveries (id) ON DELETE CASCADE,
        attempted_at TIMESTAMPTZ NOT NULL,
        http_status INTEGER,
        latency_ms INTEGER NOT NULL,
        error TEXT
      );
      CREATE INDEX IF NOT EXISTS broker_attempts_delivery_idx ON broker_attempts (delivery_id, id);
    `,
  },
  {
    version: 2,
    name: "console_search_indexes",
    sql: `
      -- The operator console (and the admin API) page through deliveries newest first with keyset
      -- pagination (id < last seen): by user, by client, by status. Each needs its own (key, id) index,
      -- or a rare user or a dead status scans the outbox backwards.
      CREATE INDEX IF NOT EXISTS broker_deliveries_uid_id_idx ON broker_deliveries (uid, id);
      CREATE INDEX IF NOT EXISTS broker_deliveries_client_id_idx ON broker_deliveries (client_id, id);
      CREATE INDEX IF NOT EXISTS broker_deliveries_status_id_idx ON broker_deliveries (status, id);

      -- An endpoint's recent attempts (the console's sparkline) without joining through the outbox: the
      -- client is copied onto each attempt when it is recorded.
      ALTER TABLE broker_attempts ADD COLUMN IF NOT EXISTS client_id TEXT;
      UPDATE broker_attempts a SET client_id = d.client_id FROM broker_deliveries d WHERE d.id = a.delivery_id AND a.client_id IS NULL;
      CREATE INDEX IF NOT EXISTS broker_attempts_client_idx ON broker_attempts (client_id, id);
    `,
  },
];

export const BROKER_TABLES = ["broker_clients", "broker_logins", "broker_deliveries", "broker_attempts"] as const;

export const BROKER_SCHEMA = { domain: BROKER_DOMAIN, migrations: BROKER_MIGRATIONS } as const;
