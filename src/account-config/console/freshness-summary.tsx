/** @jsxImportSource hono/jsx */
// The cache's freshness in one line, as /__heartbeat__ judges it: when it was last refreshed, how old
// that is against STALE_AFTER_MS, the last full load, the generation.
import { Badge } from "../../console/badge.tsx";
import { Time } from "../../console/time.tsx";
import type { CacheFreshness } from "../freshness.ts";

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

export function FreshnessSummary(props: { freshness: CacheFreshness }) {
  const f = props.freshness;
  if (!f.ready) return <p><Badge status="not loaded" tone="bad" /> The first load of the configuration has not finished; the API answers 503 not_ready.</p>;
  return (
    <div class="counters">
      <div class="counter">
        <span>Cache</span>
        <b>{f.stale ? <Badge status="stale" tone="bad" /> : <Badge status="fresh" tone="ok" />}</b>
        <span class="muted">heartbeat fails at {seconds(f.staleAfterMs)}</span>
      </div>
      <div class="counter">
        <span>Last refresh ({f.lastRefreshMode})</span>
        <b><Time at={f.lastRefreshAt} /></b>
        <span class="muted">{f.ageMs === null ? "" : `${seconds(f.ageMs)} ago`}</span>
      </div>
      <div class="counter">
        <span>Last full load</span>
        <b><Time at={f.lastFullLoadAt} /></b>
      </div>
      <div class="counter">
        <span>Accounts</span>
        <b>{f.accounts}</b>
        <span class="muted">generation {f.generation}</span>
      </div>
    </div>
  );
}
