// The email schema (DESIGN.md §4): bounce and complaint records (numeric codes of spec/email.md §6.1),
// the metadata stored by /send, and (versions 3-4) the callers of /send with their send-rate counters.
// `email-send migrate` applies it; services only check it. Version 2 belongs to email-queues.
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
  {
    version: 3,
    name: "callers_and_send_counters",
    sql: `
      -- One row per caller of /send (email-send callers add). Only SHA-256 digests of tokens are kept;
      -- the previous token of a rotation keeps working until previous_until (ms).
      CREATE TABLE IF NOT EXISTS email_callers (
        name TEXT PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
        token_hash BYTEA NOT NULL CHECK (octet_length(token_hash) = 32),
        previous_hash BYTEA CHECK (octet_length(previous_hash) = 32),
        previous_until BIGINT,
        rate_limit INTEGER CHECK (rate_limit > 0),
        rate_period_ms BIGINT CHECK (rate_period_ms > 0),
        recipient_limit INTEGER CHECK (recipient_limit > 0),
        recipient_period_ms BIGINT CHECK (recipient_period_ms > 0),
        created_at BIGINT NOT NULL,
        rotated_at BIGINT
      );

      -- Fixed-window send counters shared by every instance, one row per counter: key is the caller's
      -- name, a newline, then '' for the caller's own counter or a recipient's normalised address
      -- (neither can hold a newline). In byte order ("C"), a caller's counters are one range of the
      -- primary key, its only index: taking a send writes nothing else.
      CREATE TABLE IF NOT EXISTS email_send_counters (
        key TEXT COLLATE "C" PRIMARY KEY,
        window_start BIGINT NOT NULL,
        window_end BIGINT NOT NULL,
        count INTEGER NOT NULL
      ) WITH (fillfactor = 70);

      -- Takes one send from each counter of each request, all or nothing per request, for a batch of
      -- requests at once (the client first tries one plain upsert for the whole batch; this is the
      -- path for a batch in which some counter lacks room). Entries of one request are adjacent
      -- (p_request); each names a counter (p_caller, p_address) with its limit per fixed window of
      -- p_period ms. Under a per-caller advisory lock, rows are created and locked in key order, as
      -- every other statement on these rows does, so instances never deadlock. Returns one row per
      -- request with entries: taken, or the first refusing entry
      -- (0-based within the request) and the ms until every refusing window has ended.
      CREATE OR REPLACE FUNCTION email_send_take(
        p_request INTEGER[], p_caller TEXT[], p_address TEXT[], p_limit INTEGER[], p_period BIGINT[], p_now BIGINT
      ) RETURNS TABLE (taken_request INTEGER, taken BOOLEAN, refused_entry INTEGER, retry_after_ms BIGINT)
      -- Its plans are cached per connection, often while the table is still small or unanalysed: a
      -- sequential scan chosen then costs O(rows) per call for ever after. Counters are always
      -- found by key, through the primary key.
      LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
      DECLARE
        n INTEGER := coalesce(array_length(p_request, 1), 0);
        wanted TEXT[]; wanted_n INTEGER[]; wanted_limit INTEGER[]; wanted_period BIGINT[];
        k_key TEXT[]; k_start BIGINT[]; k_end BIGINT[]; k_count INTEGER[];
        changed TEXT[] := '{}';
        slot INTEGER[] := '{}';
        i INTEGER := 1; j INTEGER; first INTEGER; s INTEGER; ws BIGINT; c INTEGER; ok BOOLEAN; bad INTEGER; wait BIGINT;
        updated INTEGER;
      BEGIN
        IF n = 0 THEN RETURN; END IF;
        -- Takes are serialised per caller (locks taken in hash order): counters belong to one caller,
        -- so two takes never wait on each other's rows and never deadlock, whatever order they update in.
        PERFORM pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended('email_send_take ' || x, 0) AS h FROM unnest(p_caller) AS x ORDER BY 1) callers;
        -- The distinct counters in key order, with what the batch asks of each: how many sends, the
        -- limit and the period (the same for every entry of a counter).
        SELECT array_agg(d.k ORDER BY d.k COLLATE "C"), array_agg(d.n ORDER BY d.k COLLATE "C"), array_agg(d.lim ORDER BY d.k COLLATE "C"), array_agg(d.period ORDER BY d.k COLLATE "C")
          INTO wanted, wanted_n, wanted_limit, wanted_period
          FROM (SELECT u.caller || E'\\n' || u.address AS k, count(*)::INTEGER AS n, min(u.lim) AS lim, min(u.period) AS period
                FROM unnest(p_caller, p_address, p_limit, p_period) AS u(caller, address, lim, period) GROUP BY 1) d;
        -- The common case in one statement: every counter (created when new) has room for all the
        -- batch asks of it, so every request is taken. Otherwise what it did is rolled back and the
        -- requests are taken one by one below.
        BEGIN
          INSERT INTO email_send_counters AS e (key, window_start, window_end, count)
            SELECT w.k, p_now - p_now % w.per, p_now - p_now % w.per + w.per, w.n
            FROM unnest(wanted, wanted_n, wanted_limit, wanted_period) AS w(k, n, lim, per)
            WHERE w.n <= w.lim
            ON CONFLICT (key) DO UPDATE SET
              count = CASE WHEN e.window_start = EXCLUDED.window_start AND e.window_end = EXCLUDED.window_end THEN e.count ELSE 0 END + EXCLUDED.count,
              window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end
            WHERE CASE WHEN e.window_start = EXCLUDED.window_start AND e.window_end = EXCLUDED.window_end THEN e.count ELSE 0 END + EXCLUDED.count
                  <= wanted_limit[array_position(wanted, e.key)];
          GET DIAGNOSTICS updated = ROW_COUNT;
          IF updated = array_length(wanted, 1) THEN
            RETURN QUERY SELECT DISTINCT r, true, NULL::INTEGER, 0::BIGINT FROM unnest(p_request) AS r;
            RETURN;
          END IF;
          RAISE EXCEPTION 'email_send_take: a counter is missing or full';
        EXCEPTION WHEN raise_exception THEN
          NULL;
        END;
        -- A counter deleted between the two statements (the sweep, a removed caller) is missing from
        -- the lock: then both run again, so no send is ever admitted without being counted.
        LOOP
          INSERT INTO email_send_counters (key, window_start, window_end, count)
            SELECT w.k, p_now - p_now % w.period, p_now - p_now % w.period + w.period, 0
            FROM unnest(wanted, wanted_period) WITH ORDINALITY AS w(k, period, o) ORDER BY w.o
            ON CONFLICT DO NOTHING;
          SELECT array_agg(l.key ORDER BY l.key), array_agg(l.window_start ORDER BY l.key),
                 array_agg(l.window_end ORDER BY l.key), array_agg(l.count ORDER BY l.key)
            INTO k_key, k_start, k_end, k_count
            FROM (SELECT e.key, e.window_start, e.window_end, e.count FROM email_send_counters e
                  WHERE e.key = ANY(wanted) ORDER BY e.key FOR UPDATE) l;
          EXIT WHEN coalesce(array_length(k_key, 1), 0) = array_length(wanted, 1);
        END LOOP;
        -- Request by request, in order: a request is taken only if all its counters have room.
        FOR j IN 1 .. n LOOP
          slot[j] := array_position(k_key, p_caller[j] || E'\\n' || p_address[j]);
        END LOOP;
        WHILE i <= n LOOP
          first := i; ok := true; bad := NULL; wait := 0;
          WHILE i <= n AND p_request[i] = p_request[first] LOOP
            s := slot[i];
            ws := p_now - p_now % p_period[i];
            c := CASE WHEN k_start[s] = ws AND k_end[s] = ws + p_period[i] THEN k_count[s] ELSE 0 END;
            IF c + 1 > p_limit[i] THEN
              IF ok THEN ok := false; bad := i - first; END IF;
              wait := greatest(wait, ws + p_period[i] - p_now);
            END IF;
            i := i + 1;
          END LOOP;
          IF ok THEN
            FOR j IN first .. i - 1 LOOP
              s := slot[j];
              ws := p_now - p_now % p_period[j];
              IF k_start[s] = ws AND k_end[s] = ws + p_period[j] THEN
                k_count[s] := k_count[s] + 1;
              ELSE
                k_start[s] := ws; k_end[s] := ws + p_period[j]; k_count[s] := 1;
              END IF;
              changed := changed || k_key[s];
            END LOOP;
          END IF;
          taken_request := p_request[first]; taken := ok; refused_entry := bad; retry_after_ms := wait;
          RETURN NEXT;
        END LOOP;
        UPDATE email_send_counters e
          SET window_start = k_start[array_position(k_key, e.key)], window_end = k_end[array_position(k_key, e.key)],
              count = k_count[array_position(k_key, e.key)]
          WHERE e.key = ANY(changed);
      END
      $fn$;

      -- Gives back what takes counted for sends that did not happen (recipients the bounce checks
      -- dropped, requests they refused): one per entry, from its counter's window at its p_taken_at,
      -- under the same per-caller locks as email_send_take.
      CREATE OR REPLACE FUNCTION email_send_give_back(p_caller TEXT[], p_address TEXT[], p_period BIGINT[], p_taken_at BIGINT[])
      RETURNS INTEGER LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
      DECLARE given INTEGER;
      BEGIN
        PERFORM pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended('email_send_take ' || x, 0) AS h FROM unnest(p_caller) AS x ORDER BY 1) callers;
        -- Row locks in key order, as every take takes them.
        PERFORM 1 FROM email_send_counters e
          WHERE e.key = ANY(SELECT v.caller || E'\\n' || v.address FROM unnest(p_caller, p_address) AS v(caller, address))
          ORDER BY e.key FOR UPDATE;
        UPDATE email_send_counters e SET count = greatest(e.count - u.n, 0)
          FROM (SELECT v.caller || E'\\n' || v.address AS k, v.taken_at - v.taken_at % v.period AS ws, v.period, count(*)::INTEGER AS n
                FROM unnest(p_caller, p_address, p_period, p_taken_at) AS v(caller, address, period, taken_at) GROUP BY 1, 2, 3) u
          WHERE e.key = u.k AND e.window_start = u.ws AND e.window_end = u.ws + u.period;
        GET DIAGNOSTICS given = ROW_COUNT;
        RETURN given;
      END
      $fn$;
    `,
  },
  {
    version: 4,
    name: "send_counters_unlogged",
    sql: `
      -- Send counters are a guard against loops, not a record: they need no WAL. Unlogged, a take
      -- writes no WAL and its commit waits for no flush. The price: after a crash (not a clean stop) the
      -- table is emptied, and a standby has none, so for the rest of the open windows up to N more
      -- sends per counter can go out. README "Callers and send-rate limits" says so.
      ALTER TABLE email_send_counters SET UNLOGGED;
    `,
  },
];

export const EMAIL_SCHEMA = { domain: EMAIL_DOMAIN, migrations: EMAIL_MIGRATIONS } as const;
