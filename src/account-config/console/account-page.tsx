/** @jsxImportSource hono/jsx */
// One account as the API's GET /accounts/:ref shows it (accountView, connection strings redacted):
// its fields, when each map was last loaded or changed, the lookup tester, and each map's rows (the
// first few here, all of them a page at a time on the map's own page).
import type { Child } from "hono/jsx";
import { Badge } from "../../console/badge.tsx";
import type { ConsoleContext } from "../../console/context.ts";
import { page } from "../../console/layout.tsx";
import { Pager } from "../../console/pager.tsx";
import { Time } from "../../console/time.tsx";
import { HttpError } from "../../http/problem.ts";
import type { AccountRow, Row } from "../model.ts";
import { MAP_NAMES } from "../tables.ts";
import { accountView, type AccountView } from "../view.ts";
import { ACCOUNTS_PATH, accountHref, afterId } from "./accounts-page.tsx";
import type { ConfigConsoleDeps } from "./deps.ts";
import { LookupForm } from "./lookup-page.tsx";
import { RowsTable } from "./rows-table.tsx";

/** Rows of a map shown on the account page; the rest are on the map's page. */
const PREVIEW = 10;
const MAP_PAGE = 50;
const MAX_REF = 64;

/** The view's lists: each map, and the patterns in effect (own and global defaults). */
const LISTS = [...MAP_NAMES, "effectivePatterns"] as const;
type ListName = (typeof LISTS)[number];

export const mapHref = (id: number, list: ListName) => `${accountHref(id)}/maps/${list}`;

/** The account for a path's :ref (id or token), or the page's 404 / 503. */
export function accountFor(deps: ConfigConsoleDeps, ref: string): AccountRow {
  if (!deps.cache.ready) throw new HttpError(503, "The first load of the configuration has not finished");
  const account = ref.length <= MAX_REF ? deps.cache.state.account(ref) : undefined;
  if (!account) throw new HttpError(404, `No account ${JSON.stringify(ref.slice(0, MAX_REF))}`);
  return account;
}

function viewOf(deps: ConfigConsoleDeps, account: AccountRow): AccountView & { lastUpdated?: Record<string, string> } {
  const { cache } = deps;
  return accountView(cache.state, account, { now: cache.now(), lastUpdated: true, visscore: cache.visscore?.states.get(account.id) });
}

function Field(props: { name: string; children?: Child }) {
  return (
    <tr>
      <th>{props.name}</th>
      <td class="wrap">{props.children}</td>
    </tr>
  );
}

function AccountFields(props: { view: ReturnType<typeof viewOf> }) {
  const v = props.view;
  const connections = Object.keys(v.connection_strings);
  return (
    <table>
      <tbody>
        <Field name="Id">{v.id}</Field>
        <Field name="Token"><code>{v.token}</code></Field>
        <Field name="Name">{v.name}</Field>
        <Field name="Status">
          {v.active ? <Badge status="active" tone="ok" /> : <Badge status="inactive" tone="neutral" />}
          {v.inMaintenance ? <> <Badge status="maintenance" tone="warn" /> until <Time at={v.maintenance_until} /></> : null}
        </Field>
        <Field name="Time zone">{v.timezone}</Field>
        <Field name="Connection strings">{connections.length === 0 ? <span class="muted">none</span> : <>{connections.join(", ")} <span class="muted">(values not shown)</span></>}</Field>
        <Field name="Visscore queue">
          {v.visscore.desired === null ? <span class="muted">none</span> : <>{v.visscore.desired} <Badge status={v.visscore.status} tone={v.visscore.status === "ok" ? "ok" : "warn"} /></>}
        </Field>
        <Field name="Child accounts">{v.childAccounts.length === 0 ? <span class="muted">none</span> : v.childAccounts.join(", ")}</Field>
      </tbody>
    </table>
  );
}

function LastUpdated(props: { stamps: Record<string, string> | undefined }) {
  const entries = Object.entries(props.stamps ?? {});
  if (entries.length === 0) return null;
  return (
    <>
      <h2>Last loaded or changed</h2>
      <table>
        <tbody>
          {entries.map(([map, at]) => (
            <tr><th>{map}</th><td><Time at={at} /></td></tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function MapPreview(props: { id: number; name: ListName; rows: readonly Row[] }) {
  const { rows } = props;
  return (
    <section>
      <h2>
        {props.name} <span class="muted">({rows.length})</span>
      </h2>
      {rows.length === 0 ? null : <RowsTable rows={rows.slice(0, PREVIEW)} />}
      {rows.length > PREVIEW ? <p><a href={mapHref(props.id, props.name)}>All {rows.length} rows of {props.name} »</a></p> : null}
    </section>
  );
}

export function accountPage(c: ConsoleContext, deps: ConfigConsoleDeps) {
  const account = accountFor(deps, c.req.param("ref") ?? "");
  const view = viewOf(deps, account);
  return page(c, `Account ${account.token}`, (
    <>
      <p><a href={ACCOUNTS_PATH}>« Accounts</a></p>
      <AccountFields view={view} />
      <h2>Blacklist lookup</h2>
      <LookupForm account={String(account.id)} />
      <LastUpdated stamps={view.lastUpdated} />
      {LISTS.map((name) => <MapPreview id={account.id} name={name} rows={view[name]} />)}
    </>
  ));
}

/** One map of one account, every row, a page at a time (keyset on the row id: the view sorts by id). */
export function mapPage(c: ConsoleContext, deps: ConfigConsoleDeps) {
  const account = accountFor(deps, c.req.param("ref") ?? "");
  const map = c.req.param("map") as ListName;
  if (!LISTS.includes(map)) throw new HttpError(404, `No map ${JSON.stringify(String(map).slice(0, 40))}`);
  const { text: afterText, id: after = -Infinity } = afterId(c);
  const rows = viewOf(deps, account)[map].filter((row) => row.id > after);
  const shown = rows.slice(0, MAP_PAGE);
  const next = rows.length > MAP_PAGE ? String(shown.at(-1)!.id) : undefined;
  const path = mapHref(account.id, map);
  return page(c, `${map} of ${account.token}`, (
    <>
      <p><a href={accountHref(account.id)}>« Account {account.token}</a></p>
      {shown.length === 0 ? <p class="muted">No rows.</p> : <RowsTable rows={shown} />}
      <Pager path={path} params={{}} after={afterText} next={next} />
    </>
  ));
}

export const ACCOUNT_ROUTE = `${ACCOUNTS_PATH}/:ref`;
export const MAP_ROUTE = `${ACCOUNTS_PATH}/:ref/maps/:map`;
