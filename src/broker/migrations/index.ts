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

      -- Live counters by client and status without counting the outbox (a count over 100,000 rows takes
      -- longer than a console page may). Statement triggers append one change row per (client, status)
      -- a statement moved, so concurrent writers never wait on a shared counter row; readers fold the
      -- changes into broker_delivery_counts (foldDeliveryCounts), and so does \`serve\` every minute.
      CREATE TABLE IF NOT EXISTS broker_delivery_counts (
        client_id TEXT NOT NULL,
        status TEXT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (client_id, status)
      );
      CREATE TABLE IF NOT EXISTS broker_delivery_count_changes (
        client_id TEXT NOT NULL,
        status TEXT NOT NULL,
        delta BIGINT NOT NULL
      );
      CREATE OR REPLACE FUNCTION broker_deliveries_counted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO broker_delivery_count_changes (client_id, status, delta)
            SELECT client_id, status, count(*) FROM new_rows GROUP BY client_id, status;
        ELSIF TG_OP = 'UPDATE' THEN
          INSERT INTO broker_delivery_count_changes (client_id, status, delta)
            SELECT client_id, status, sum(d) FROM (
              SELECT client_id, status, 1 AS d FROM new_rows UNION ALL SELECT client_id, status, -1 FROM old_rows
            ) moved GROUP BY client_id, status HAVING sum(d) <> 0;
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO broker_delivery_count_changes (client_id, status, delta)
            SELECT client_id, status, -count(*) FROM old_rows GROUP BY client_id, status;
        ELSE -- TRUNCATE
          DELETE FROM broker_delivery_count_changes;
          DELETE FROM broker_delivery_counts;
        END IF;
        RETURN NULL;
      END $$;
      DROP TRIGGER IF EXISTS broker_deliveries_counted_insert ON broker_deliveries;
      CREATE TRIGGER broker_deliveries_counted_insert AFTER INSERT ON broker_deliveries
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION broker_deliveries_counted();
      DROP TRIGGER IF EXISTS broker_deliveries_counted_update ON broker_deliveries;
      CREATE TRIGGER broker_deliveries_counted_update AFTER UPDATE ON broker_deliveries
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION broker_deliveries_counted();
      DROP TRIGGER IF EXISTS broker_deliveries_counted_delete ON broker_deliveries;
      CREATE TRIGGER broker_deliveries_counted_delete AFTER DELETE ON broker_deliveries
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION broker_deliveries_counted();
      DROP TRIGGER IF EXISTS broker_deliveries_counted_truncate ON broker_deliveries;
      CREATE TRIGGER broker_deliveries_counted_truncate AFTER TRUNCATE ON broker_deliveries
        FOR EACH STATEMENT EXECUTE FUNCTION broker_deliveries_counted();
      -- What the outbox already holds (the migration runs in one transaction with the triggers' creation).
      LOCK TABLE broker_deliveries IN SHARE MODE;
      DELETE FROM broker_delivery_counts;
      DELETE FROM broker_delivery_count_changes;
      INSERT INTO broker_delivery_counts (client_id, status, n)
        SELECT client_id, status, count(*) FROM broker_deliveries GROUP BY client_id, status;
      -- The oldest waiting delivery of each client, found from the end of an index, not by a scan.
      CREATE INDEX IF NOT EXISTS broker_deliveries_pending_age_idx ON broker_deliveries (client_id, created_at) WHERE status = 'pending';
    `,
  },
];

export const BROKER_TABLES = ["broker_clients", "broker_logins", "broker_deliveries", "broker_attempts", "broker_delivery_counts", "broker_delivery_count_changes"] as const;

export const BROKER_SCHEMA = { domain: BROKER_DOMAIN, migrations: BROKER_MIGRATIONS } as const;
