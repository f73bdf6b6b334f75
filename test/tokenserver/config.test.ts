import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/core/errors.ts";
import { accountEventsSettings } from "../../src/tokenserver/account-events-config.ts";
import { tokenserverDbSettings } from "../../src/tokenserver/config.ts";
import { purgeSettings } from "../../src/tokenserver/purge-config.ts";

const env = { SYNC_TOKENSERVER__DATABASE_URL: "postgresql+psycopg2://ts@db/tokenserver" };

describe("tokenserver settings", () => {
  test("the SQLAlchemy-style URL of the original works; DATABASE_URL is the fallback; MySQL is refused", () => {
    expect(tokenserverDbSettings(env).databaseUrl).toBe("postgresql://ts@db/tokenserver");
    expect(tokenserverDbSettings({ DATABASE_URL: "postgres://x@y/z" }).databaseUrl).toBe("postgres://x@y/z");
    expect(() => tokenserverDbSettings({ SYNC_TOKENSERVER__DATABASE_URL: "mysql://ts@db/ts" })).toThrow(UsageError);
    expect(() => tokenserverDbSettings({})).toThrow("SYNC_TOKENSERVER__DATABASE_URL");
    expect(() => tokenserverDbSettings({ DATABASE_URL: "mysql://ts@db/ts" })).toThrow(/^DATABASE_URL: only PostgreSQL URLs are supported/); // names the variable used
    expect(tokenserverDbSettings({ ...env, SYNC_TOKENSERVER__SPANNER_NODE_ID: "800" }).spannerNodeId).toBe("800");
  });

  test("process-account-events: the original's defaults, bounds, and errors that name the flag", () => {
    const s = accountEventsSettings({ queue_name: "q" }, 0, env);
    expect(s).toMatchObject({ queue: "q", queueWaitTime: 20, concurrency: 8, drain: false, dbPoolSize: 2 });
    expect(s.logging).toEqual({ level: "warn", format: "json" });
    expect(accountEventsSettings({ queue_name: "q", human_logs: true }, 2, env).logging).toEqual({ level: "debug", format: "pretty" });
    expect(() => accountEventsSettings({ queue_name: "q", queue_wait_time: "21" }, 0, env)).toThrow("--queue-wait-time: must be at most 20");
    expect(() => accountEventsSettings({ queue_name: "q", concurrency: "x" }, 0, env)).toThrow("--concurrency: invalid integer value: 'x'");
    expect(accountEventsSettings({ queue_name: "q", metric_host: "statsd" }, 0, env).metrics).toEqual({ host: "statsd", port: undefined, prefix: "tokenserver" });
  });

  test("purge-old-records: defaults, the secret's sources, uid range rules", () => {
    const s = purgeSettings({ _: ["ignored", "SECRET"] }, 0, env);
    expect(s).toMatchObject({
      secret: "SECRET", purgeInterval: 3600, gracePeriod: 86400, maxPerLoop: 10, maxOffset: 0, maxRecords: 0,
      requestTimeout: 60, maxRetries: 5, concurrency: 4, oneshot: false, dryrun: false, force: false, uidRange: null,
    });
    expect(purgeSettings({ _: [] }, 0, { ...env, PURGE_SECRET: "from-env" }).secret).toBe("from-env");
    expect(() => purgeSettings({ _: [] }, 0, env)).toThrow("a SECRET is required");
    expect(purgeSettings({ _: ["s"], range_start: "5" }, 0, env).uidRange).toEqual(["5", undefined]);
    expect(() => purgeSettings({ _: ["s"], range_end: "abc" }, 0, env)).toThrow("--range_end: must be a uid (digits)");
    expect(() => purgeSettings({ _: ["s"], max_per_loop: "abc" }, 0, env)).toThrow("--max-per-loop: invalid integer value: 'abc'");
  });
});
