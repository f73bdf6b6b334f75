/** @jsxImportSource hono/jsx */
// The callers of /send with their limits and their counts in the windows open now (the
// `email-send callers list` command and GET /callers/:name/usage, side by side). Tokens never appear:
// only their digests are stored.
import { CONSOLE_BASE, type ConsoleContext } from "../../console/context.ts";
import { page } from "../../console/layout.tsx";
import { Time } from "../../console/time.tsx";
import { callerUsage, listCallers, type CallerSummary, type CallerUsage } from "../callers.ts";
import type { SuppressionDeps } from "../suppression.ts";
import { addressHref } from "./address-page.tsx";

export const CALLERS_PATH = `${CONSOLE_BASE}/callers`;
/** Busiest recipients shown per caller. */
const TOP = 3;

function OwnWindow(props: { usage: CallerUsage["rate"] }) {
  const u = props.usage;
  if (!u) return <span class="muted">no limit</span>;
  return (
    <span>
      {u.count} of {u.limit} per {u.period}
      {u.windowEnd ? <> · until <Time at={u.windowEnd} /></> : null}
    </span>
  );
}

function RecipientWindows(props: { usage: CallerUsage["recipientRate"] }) {
  const u = props.usage;
  if (!u) return <span class="muted">no limit</span>;
  return (
    <div>
      {u.limit} per {u.period} to one address · {u.recipients} address{u.recipients === 1 ? "" : "es"} counted now
      {u.busiest.length > 0 ? (
        <ul>
          {u.busiest.map((b) => (
            <li class="wrap">
              <a href={addressHref(b.address)}>{b.address}</a>: {b.count} until <Time at={b.windowEnd} />
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export async function callersPage(c: ConsoleContext, deps: SuppressionDeps) {
  const now = deps.now();
  const callers: CallerSummary[] = await listCallers(deps.sql, now);
  const usages = await Promise.all(callers.map((caller) => callerUsage(deps.sql, caller.name, now, TOP)));
  return page(c, "Callers", (
    callers.length === 0 ? (
      <p class="muted">No callers: /send accepts the operator token only (or anyone, without one). Add callers with <code>email-send callers add</code>.</p>
    ) : (
      <table>
        <thead>
          <tr><th>Caller</th><th>Own limit, this window</th><th>Per-recipient limit</th><th>Created</th><th>Token rotated</th></tr>
        </thead>
        <tbody>
          {callers.map((caller, i) => (
            <tr>
              <td><code>{caller.name}</code></td>
              <td><OwnWindow usage={usages[i]?.rate ?? null} /></td>
              <td><RecipientWindows usage={usages[i]?.recipientRate ?? null} /></td>
              <td><Time at={caller.createdAt} /></td>
              <td>
                <Time at={caller.rotatedAt} empty="never" />
                {caller.previousTokenUntil ? <div class="muted">previous token works until <Time at={caller.previousTokenUntil} /></div> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )
  ));
}
