// /__heartbeat__ of account-config (spec/account-config.md §9): 200 while the cache is loaded and its last
// successful refresh is younger than STALE_AFTER, else 503 (a load balancer stops sending readers to a
// copy that fell behind). Things that do not make the config stale are warnings in a 200: visscore
// queues that are missing or unreachable, rows skipped as unservable, the LISTEN connection being down
// (the poll still runs).
import type { AccountConfigRunner } from "./runner.ts";

export function heartbeatReport(runner: AccountConfigRunner, staleAfterMs: number) {
  const cache = runner.cache;
  const now = cache.now();
  const last = cache.lastRefresh;
  const ageMs = last ? now - last.at : null;
  const fresh = cache.ready && ageMs !== null && ageMs < staleAfterMs;
  const tokenOf = (id: number) => cache.state.accounts.get(id)?.token;
  const queues = cache.visscore?.problems(tokenOf) ?? { missing: [], errors: [] };
  const visscoreWarning = queues.missing.length > 0 || queues.errors.length > 0 || (queues.retryMissing?.length ?? 0) > 0;
  const problems = [...cache.state.problems.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([row, why]) => ({ row, why }));
  const listen = runner.status.listen;
  const listenDown = listen.enabled && !listen.connected;
  const status = !fresh ? "error" : visscoreWarning || problems.length > 0 || listenDown ? "warning" : "ok";
  return {
    httpStatus: fresh ? 200 : 503,
    body: {
      status,
      ready: cache.ready,
      lastRefresh: last ? { at: new Date(last.at).toISOString(), ageMs, mode: last.mode, durationMs: Math.round(last.durationMs * 100) / 100, changedRows: last.changedRows } : null,
      consecutiveFailures: runner.status.consecutiveFailures,
      ...(runner.status.lastError ? { lastError: runner.status.lastError } : {}),
      generation: cache.generation,
      accounts: cache.state.accounts.size,
      listen: { enabled: listen.enabled, connected: listen.connected, lastNotifyAt: listen.lastNotifyAt === null ? null : new Date(listen.lastNotifyAt).toISOString() },
      checks: {
        visscore: { status: visscoreWarning ? "warning" : "ok", ...queues },
        problems,
      },
    },
  };
}
