/** @jsxImportSource hono/jsx */
// Every account with its freshness: when its rows were last loaded or changed in this cache, and the
// cache's own age against the heartbeat's limit. In id order, a page at a time; filter by token or name.
import { Badge } from "../../console/badge.tsx";
import { CONSOLE_BASE, type ConsoleContext } from "../../console/context.ts";
import { page } from "../../console/layout.tsx";
import { AFTER_PARAM, Pager } from "../../console/pager.tsx";
import { Time } from "../../console/time.tsx";
import { HttpError } from "../../http/problem.ts";
import { accountsPage, cacheFreshness } from "../freshness.ts";
import type { ConfigConsoleDeps } from "./deps.ts";
import { FreshnessSummary } from "./freshness-summary.tsx";

export const ACCOUNTS_PATH = `${CONSOLE_BASE}/accounts`;
export const accountHref = (id: number) => `${ACCOUNTS_PATH}/${id}`;
const QUERY_PARAM = "q";
const PAGE_SIZE = 50;

/** The page cursor of lists keyed by id (accounts, a map's rows): the id of the last row shown. */
export function afterId(c: ConsoleContext): { text?: string; id?: number } {
  const text = c.req.query(AFTER_PARAM) || undefined;
  if (text === undefined) return {};
  if (!/^\d{1,15}$/.test(text)) throw new HttpError(400, "invalid page cursor");
  return { text, id: Number(text) };
}

export function accountsListPage(c: ConsoleContext, deps: ConfigConsoleDeps) {
  const query = c.req.query(QUERY_PARAM)?.slice(0, 64) || undefined;
  const { text: afterText, id: after } = afterId(c);
  const freshness = cacheFreshness(deps.cache, deps.staleAfterMs);
  const list = accountsPage(deps.cache, { limit: PAGE_SIZE, ...(after !== undefined ? { after } : {}), ...(query ? { query } : {}) });
  return page(c, "Accounts", (
    <>
      <FreshnessSummary freshness={freshness} />
      <form class="search" method="get" action={ACCOUNTS_PATH}>
        <label>
          Token or name contains
          <input type="text" name={QUERY_PARAM} value={query ?? ""} maxlength={64} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {list.accounts.length === 0 ? (
        <p class="muted">{query ? "No account matches." : "No accounts."}</p>
      ) : (
        <table>
          <thead>
            <tr><th class="num">Id</th><th>Token</th><th>Name</th><th>Status</th><th>Last loaded or changed</th><th>What changed then</th></tr>
          </thead>
          <tbody>
            {list.accounts.map((a) => (
              <tr>
                <td class="num">{a.id}</td>
                <td><a href={accountHref(a.id)}><code>{a.token}</code></a></td>
                <td class="wrap">{a.name}</td>
                <td>
                  {a.active ? <Badge status="active" tone="ok" /> : <Badge status="inactive" tone="neutral" />}
                  {a.inMaintenance ? <> <Badge status="maintenance" tone="warn" /></> : null}
                </td>
                <td><Time at={a.lastChangeAt} /></td>
                <td class="muted">{a.lastChanged.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager path={ACCOUNTS_PATH} params={{ [QUERY_PARAM]: query }} after={afterText} next={list.next} />
    </>
  ));
}
