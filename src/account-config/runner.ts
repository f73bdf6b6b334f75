// The sync loop (spec/account-config.md §9): keeps an AccountConfigCache current. It is a library, the
// original's Runner with `start()`/`stop()`: `serve` runs it behind HTTP, and a program may embed it
// and read `runner.cache` directly.
//
// Triggers: NOTIFY on `account_config` (sub-second), the poll timer (chained from the end of the previous
// refresh, so runs never overlap), and `onlisten`, which postgres.js calls on every (re)connect of the
// LISTEN connection and which therefore covers what was missed while it was down. NOTIFY only wakes the
// loop and carries no data, so a lost notification costs latency, never correctness. All triggers go
// through one single-flight guard: a trigger during a refresh sets `pending`, and exactly one more
// refresh follows, so a burst costs one refresh per refresh duration.
//
// A failed refresh applies nothing; the next attempt backs off (1 s, 2 s, 4 s … capped at the poll
// interval) and the old state keeps being served (the heartbeat turns 503 once it is stale). postgres.js
// re-listens by itself after the LISTEN connection drops, but gives up silently when the database does
// not answer at that moment; so each poll also checks that the LISTEN session still exists (by its
// application_name) and listens again when it does not.
import { SetupError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { noopMetrics, type Metrics } from "../core/metrics.ts";
import type { Sql } from "../db/client.ts";
import { isTransientDbError } from "../db/errors.ts";
import type { AccountConfigCache } from "./cache.ts";
import { listenSessionAlive } from "./queries.ts";

export const CHANNEL = "account_config";

export interface RunnerOptions {
  cache: AccountConfigCache;
  /** The pool refreshes read through. */
  sql: Sql;
  log: Logger;
  pollIntervalMs: number;
  /** LISTEN for changes (off: poll only, e.g. against a hot standby without LISTEN_DATABASE_URL). */
  listen?: {
    /** The client whose `listen` is used (its own single connection, made by postgres.js). */
    sql: Sql;
    /** The application_name of that client, unique per process, to find its session in pg_stat_activity. */
    applicationName: string;
    /** Where that check runs (default: `sql` of this option; the refresh pool when both reach one server). */
    probe?: Sql;
  };
  /** Run once before the first load; a SetupError there is fatal, a transient error is retried. */
  checkSchema?: (sql: Sql) => Promise<void>;
  /** First retry delay after a failed refresh (default 1 s). */
  retryBaseMs?: number;
  /** account_config.refresh (timing, tagged mode), .changed_rows, .refresh_failed, .accounts (gauge). */
  metrics?: Metrics;
}

export interface RunnerStatus {
  consecutiveFailures: number;
  lastError?: string;
  listen: { enabled: boolean; connected: boolean; lastNotifyAt: number | null };
}

type ListenHandle = Awaited<ReturnType<Sql["listen"]>>;

export class AccountConfigRunner {
  readonly cache: AccountConfigCache;
  readonly status: RunnerStatus;
  private running: Promise<void> | null = null;
  private pending = false;
  private stopping = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private schemaChecked = false;
  private listenHandle: ListenHandle | undefined;
  private listening: Promise<void> | null = null;
  private readyWaiters: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private readonly refreshed = new Set<() => void>();

  constructor(private readonly options: RunnerOptions) {
    this.cache = options.cache;
    this.status = { consecutiveFailures: 0, listen: { enabled: options.listen !== undefined, connected: false, lastNotifyAt: null } };
  }

  /**
   * Starts the loop and resolves after the first full load (retried with backoff while the database is
   * unreachable). Rejects when the schema check fails for good; resolves at once if stopped meanwhile.
   */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => (this.readyWaiters = { resolve, reject }));
    this.trigger("start");
    return ready;
  }

  /** Asks for a refresh (coalesced with one in flight). */
  trigger(reason: string): void {
    if (this.stopping) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = this.cycle(reason).finally(() => (this.running = null));
  }

  /** Resolves after the next refresh that completes successfully (tests, embedding programs). */
  nextRefresh(): Promise<void> {
    return new Promise((resolve) => this.refreshed.add(resolve));
  }

  /**
   * Stops the timer and the listener and waits (bounded) for the refresh and visscore checks in flight.
   * Resolves true when a refresh was still running at the bound: the caller may close the pool to drop it.
   */
  async stop(options: { refreshWaitMs?: number; checksWaitMs?: number } = {}): Promise<boolean> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.readyWaiters?.resolve();
    await Promise.race([this.listening, delay(1_000)]);
    const handle = this.listenHandle;
    this.listenHandle = undefined;
    await Promise.race([handle?.unlisten().catch(() => {}), delay(1_000)]);
    // A refresh still running after the bound is dropped: its read-only transaction applies nothing.
    const finished = await Promise.race([(this.running ?? Promise.resolve()).then(() => true), delay(options.refreshWaitMs ?? 5_000).then(() => false)]);
    await Promise.race([this.cache.visscore?.settled(), delay(options.checksWaitMs ?? 2_000)]);
    return !finished;
  }

  private async cycle(reason: string): Promise<void> {
    clearTimeout(this.timer);
    let ok = true;
    for (;;) {
      this.pending = false;
      ok = await this.refreshOnce(reason);
      if (this.stopping) return;
      // In the background: a LISTEN database that does not answer must not hold up the refreshes.
      if (ok && !this.listening) this.listening = this.keepListening(reason).finally(() => (this.listening = null));
      if (!ok || !this.pending || this.stopping) break;
      reason = "pending";
    }
    if (this.stopping) return;
    const retry = Math.min(this.options.pollIntervalMs, (this.options.retryBaseMs ?? 1_000) * 2 ** Math.min(this.status.consecutiveFailures - 1, 20));
    this.timer = setTimeout(() => this.trigger("poll"), ok ? this.options.pollIntervalMs : retry);
  }

  /** One refresh; false when it failed (logged, retried later). A fatal failure stops the runner. */
  private async refreshOnce(reason: string): Promise<boolean> {
    const { log } = this.options;
    try {
      if (!this.schemaChecked && this.options.checkSchema) {
        await this.options.checkSchema(this.options.sql);
        this.schemaChecked = true;
      }
      const info = await this.cache.refresh(this.options.sql);
      const metrics = this.options.metrics ?? noopMetrics;
      metrics.timing("account_config.refresh", info.durationMs, { mode: info.mode });
      if (info.changedRows > 0) metrics.incr("account_config.changed_rows", info.changedRows);
      metrics.gauge("account_config.accounts", this.cache.state.accounts.size);
      if (this.status.consecutiveFailures > 0) log.info("Refreshes succeed again", { after: this.status.consecutiveFailures });
      this.status.consecutiveFailures = 0;
      delete this.status.lastError;
      log.debug("Refreshed", { reason, mode: info.mode, changedRows: info.changedRows, durationMs: Math.round(info.durationMs * 100) / 100 });
      for (const resolve of this.refreshed) resolve();
      this.refreshed.clear();
      this.readyWaiters?.resolve();
      this.readyWaiters = undefined;
      return true;
    } catch (error) {
      this.status.consecutiveFailures += 1;
      this.status.lastError = (error as Error).message;
      (this.options.metrics ?? noopMetrics).incr("account_config.refresh_failed");
      if (error instanceof SetupError || (!this.cache.ready && !isTransientDbError(error))) {
        // Nothing to serve, and nothing that waiting would fix (a missing schema, say).
        this.stopping = true;
        this.readyWaiters?.reject(error);
        this.readyWaiters = undefined;
        return false;
      }
      log.warn("Refresh failed; serving the previous state", { error: (error as Error).message, consecutiveFailures: this.status.consecutiveFailures });
      // The LISTEN connection likely went down with the database: check it after the next success.
      if (isTransientDbError(error)) this.status.listen.connected = false;
      return false;
    }
  }

  /** Listens after the first load, and again whenever the LISTEN session turns out to be gone. */
  private async keepListening(reason: string): Promise<void> {
    const listen = this.options.listen;
    if (!listen || this.stopping) return;
    if (this.listenHandle && this.status.listen.connected && reason !== "poll") return;
    if (this.listenHandle && (await this.listenSessionAlive(listen.applicationName))) {
      this.status.listen.connected = true;
      return;
    }
    if (!this.stopping) await this.listenAgain(listen.sql);
  }

  private async listenAgain(sql: Sql): Promise<void> {
    const { log } = this.options;
    const previous = this.listenHandle;
    this.listenHandle = undefined;
    this.status.listen.connected = false;
    void previous?.unlisten().catch(() => {});
    try {
      this.listenHandle = await sql.listen(
        CHANNEL,
        () => {
          this.status.listen.lastNotifyAt = this.cache.now();
          this.trigger("notify");
        },
        () => {
          // Also on every reconnect: what was missed while disconnected is read now.
          this.status.listen.connected = true;
          this.trigger("listen");
        },
      );
      if (this.stopping) {
        void this.listenHandle.unlisten().catch(() => {});
        this.listenHandle = undefined;
        return;
      }
      if (previous) log.info("Listening again for changes");
    } catch (error) {
      log.warn("Cannot LISTEN; polling only until the next attempt", { error: (error as Error).message });
    }
  }

  private async listenSessionAlive(applicationName: string): Promise<boolean> {
    const listen = this.options.listen!;
    return listenSessionAlive(listen.probe ?? listen.sql, applicationName).catch(() => false);
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());
