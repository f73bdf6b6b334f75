import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/core/errors.ts";
import { tokenserverDbSettings } from "../../src/tokenserver/config.ts";
import { tool as accountEvents } from "../../cmd/process-account-events.ts";
import { tool as purge } from "../../cmd/purge-old-records.ts";
import { settingsOf } from "../support/tool.ts";

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

  test("process-account-events: the original's defaults, bounds, and errors that name the flag", async () => {
    const s = await settingsOf(accountEvents, ["q"], env);
    expect(s).toMatchObject({ queue: "q", queueWaitTime: 20, concurrency: 8, drain: false });
    expect(s.database).toMatchObject({ url: "postgresql://ts@db/tokenserver", poolSize: 2, statementTimeout: 10 });
    expect(s.logging).toEqual({ level: "warn", format: "json" });
    expect((await settingsOf(accountEvents, ["q", "--human_logs", "-vv"], env)).logging).toEqual({ level: "debug", format: "pretty" });
    await expect(settingsOf(accountEvents, ["q", "--queue-wait-time", "21"], env)).rejects.toThrow("--queue-wait-time: must be at most 20");
    await expect(settingsOf(accountEvents, ["q", "--concurrency", "x"], env)).rejects.toThrow("--concurrency: invalid integer value: 'x'");
    expect((await settingsOf(accountEvents, ["q", "--metric_host", "statsd"], env)).metrics).toEqual({ host: "statsd", port: undefined, prefix: "tokenserver" });
  });

  test("the statement timeout: --statement-timeout, else DATABASE_STATEMENT_TIMEOUT, else 10 s; 0 turns it off", async () => {
    expect((await settingsOf(accountEvents, ["q", "--statement-timeout", "3"], { ...env, DATABASE_STATEMENT_TIMEOUT: "7" })).database.statementTimeout).toBe(3);
    expect((await settingsOf(accountEvents, ["q"], { ...env, DATABASE_STATEMENT_TIMEOUT: "7" })).database.statementTimeout).toBe(7);
    expect((await settingsOf(accountEvents, ["q", "--statement-timeout", "0"], env)).database.statementTimeout).toBe(0);
    await expect(settingsOf(accountEvents, ["q", "--statement-timeout", "soon"], env)).rejects.toThrow("--statement-timeout: invalid integer value: 'soon'");
    await expect(settingsOf(accountEvents, ["q"], { ...env, DATABASE_STATEMENT_TIMEOUT: "-1" })).rejects.toThrow("DATABASE_STATEMENT_TIMEOUT: must be at least 0");
  });

  test("purge-old-records: defaults, the secret's sources, uid range rules", async () => {
    const s = await settingsOf(purge, ["ignored", "SECRET"], env);
    expect(s).toMatchObject({
      secret: "SECRET", purgeInterval: 3600, gracePeriod: 86400, maxPerLoop: 10, maxOffset: 0, maxRecords: 0,
      requestTimeout: 60, maxRetries: 5, concurrency: 4, oneshot: false, dryrun: false, force: false, uidRange: null,
    });
    expect((await settingsOf(purge, [], { ...env, PURGE_SECRET: "from-env" })).secret).toBe("from-env");
    await expect(settingsOf(purge, [], env)).rejects.toThrow("a SECRET is required");
    expect((await settingsOf(purge, ["s", "--range_start", "5"], env)).uidRange).toEqual(["5", undefined]);
    await expect(settingsOf(purge, ["s", "--range_end", "abc"], env)).rejects.toThrow("--range_end: must be a uid (digits)");
    await expect(settingsOf(purge, ["s", "--max-per-loop", "abc"], env)).rejects.toThrow("--max-per-loop: invalid integer value: 'abc'");
  });
});
