/** @jsxImportSource hono/jsx */
// Every attempt of a delivery: when, what the relying party answered (or why there was no answer), how long.
import { Badge } from "../../console/badge.tsx";
import { Time } from "../../console/time.tsx";
import type { AttemptView } from "../admin.ts";

export const isSuccess = (a: AttemptView) => a.httpStatus !== null && a.httpStatus >= 200 && a.httpStatus < 300;

/** What an attempt came to, in a few words: "200", "HTTP 500", "timeout". */
export function outcomeText(a: AttemptView): string {
  if (a.httpStatus !== null) return String(a.httpStatus);
  return a.error ? "no answer" : "—";
}

export function AttemptsTable(props: { attempts: readonly AttemptView[]; clip?: number }) {
  if (props.attempts.length === 0) return <p class="muted">No attempt yet.</p>;
  const clip = props.clip ?? Infinity;
  return (
    <table class="attempts">
      <thead>
        <tr>
          <th>#</th>
          <th>At</th>
          <th>Answer</th>
          <th class="num">Latency</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {props.attempts.map((a, i) => (
          <tr>
            <td class="num">{i + 1}</td>
            <td>
              <Time at={a.at} />
            </td>
            <td>
              <Badge status={outcomeText(a)} tone={isSuccess(a) ? "ok" : "bad"} />
            </td>
            <td class="num">{a.latencyMs} ms</td>
            <td class="wrap mono">{a.error === null ? "" : a.error.length > clip ? `${a.error.slice(0, clip)}…` : a.error}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
