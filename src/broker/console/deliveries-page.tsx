/** @jsxImportSource hono/jsx */
// Deliveries by user or client (and status), newest first, keyset-paged, each with every attempt; one
// delivery's page; the retry button. Thin over admin.listDeliveries / getDelivery / retryOne, as the JSON
// API's /v1/admin/deliveries and the CLI's `deliveries list|retry`.
import { Badge } from "../../console/badge.tsx";
import type { ConsoleApp, ConsoleContext } from "../../console/context.ts";
import { CsrfField } from "../../console/csrf-field.tsx";
import { page } from "../../console/layout.tsx";
import { AFTER_PARAM, hrefWith, Pager, pageOf } from "../../console/pager.tsx";
import { consolePath, redirectWithNotice } from "../../console/routes.tsx";
import { Time } from "../../console/time.tsx";
import * as admin from "../admin.ts";
import { AttemptsTable, outcomeText } from "./attempts-table.tsx";
import { BROKER_PAGES, consoleHref, type BrokerConsoleDeps } from "./paths.ts";

export const PAGE_SIZE = 50;
const ERROR_CLIP = 160;

const retryable = (d: admin.DeliveryView) => d.status === "dead" || d.status === "pending";
const deliveryHref = (id: string) => consoleHref(`${BROKER_PAGES.deliveries}/${id}`);

function RetryButton(props: { delivery: admin.DeliveryView; csrf: string; back: string }) {
  if (!retryable(props.delivery)) return null;
  return (
    <form class="inline" method="post" action={`${deliveryHref(props.delivery.id)}/retry`}>
      <CsrfField token={props.csrf} />
      <input type="hidden" name="back" value={props.back} />
      <button type="submit" aria-label={`Retry delivery ${props.delivery.id}`}>
        Retry
      </button>
    </form>
  );
}

function lastAnswer(d: admin.DeliveryView): string {
  const last = d.attempts[d.attempts.length - 1];
  if (!last) return "";
  if (!last.error) return outcomeText(last);
  return last.error.length > ERROR_CLIP ? `${last.error.slice(0, ERROR_CLIP)}…` : last.error;
}

/** The page's own URL, to come back to after an action. */
const here = (c: ConsoleContext) => {
  const url = new URL(c.req.url);
  return url.pathname + url.search;
};

export function deliveriesPages(app: ConsoleApp, deps: BrokerConsoleDeps): void {
  app.get(BROKER_PAGES.deliveries, async (c) => {
    const q = (name: string) => c.req.query(name)?.trim() || undefined;
    const filter = { uid: q("uid"), client: q("client"), status: q("status") };
    const after = q(AFTER_PARAM);
    const [clients, rows] = await Promise.all([
      admin.listClients(deps.admin),
      admin.listDeliveries(deps.admin, { uid: filter.uid, clientId: filter.client, status: filter.status, before: after, limit: PAGE_SIZE + 1 }),
    ]);
    const { rows: deliveries, next } = pageOf(rows, PAGE_SIZE, (d) => d.id);
    const csrf = c.get("csrf");
    const back = here(c);
    return page(
      c,
      "Deliveries",
      <>
        <form class="search" method="get" action={consoleHref(BROKER_PAGES.deliveries)} role="search">
          <label>
            User (uid)
            <input name="uid" value={filter.uid ?? ""} size={34} autocomplete="off" />
          </label>
          <label>
            Client
            <select name="client">
              <option value="">any</option>
              {clients.map((cl) => (
                <option value={cl.clientId} selected={cl.clientId === filter.client?.toLowerCase()}>
                  {cl.clientId}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select name="status">
              <option value="">any</option>
              {admin.STATUSES.map((s) => (
                <option value={s} selected={s === filter.status}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Search</button>
        </form>
        {deliveries.length === 0 ? (
          <p class="muted">No delivery matches.</p>
        ) : (
          <table class="deliveries">
            <thead>
              <tr>
                <th class="num">ID</th>
                <th>Created</th>
                <th>Client</th>
                <th>User</th>
                <th>Event</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Last answer</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <>
                  <tr id={`delivery-${d.id}`} data-status={d.status}>
                    <td class="num">
                      <a href={deliveryHref(d.id)}>{d.id}</a>
                    </td>
                    <td>
                      <Time at={d.createdAt} />
                    </td>
                    <td>{d.clientId}</td>
                    <td class="mono">{d.uid}</td>
                    <td>{d.event}</td>
                    <td>
                      <Badge status={d.status} />
                    </td>
                    <td class="num">{d.attempts.length}</td>
                    <td class="wrap mono">{lastAnswer(d)}</td>
                    <td>
                      <RetryButton delivery={d} csrf={csrf} back={back} />
                    </td>
                  </tr>
                  {d.attempts.length > 0 ? (
                    <tr class="attempts-row" data-attempts-of={d.id}>
                      <td></td>
                      <td colspan={8}>
                        <details>
                          <summary>
                            {d.attempts.length} {d.attempts.length === 1 ? "attempt" : "attempts"}
                          </summary>
                          <AttemptsTable attempts={d.attempts} clip={ERROR_CLIP} />
                        </details>
                      </td>
                    </tr>
                  ) : null}
                </>
              ))}
            </tbody>
          </table>
        )}
        <Pager path={consoleHref(BROKER_PAGES.deliveries)} params={filter} after={after} next={next} />
      </>,
    );
  });

  app.get(`${BROKER_PAGES.deliveries}/:id`, async (c) => {
    const d = await admin.getDelivery(deps.admin, c.req.param("id"));
    return page(
      c,
      `Delivery ${d.id}`,
      <>
        <table class="fields">
          <tbody>
            <tr>
              <th>Status</th>
              <td>
                <Badge status={d.status} /> <RetryButton delivery={d} csrf={c.get("csrf")} back={here(c)} />
              </td>
            </tr>
            <tr>
              <th>Client</th>
              <td>
                <a href={hrefWith(consoleHref(BROKER_PAGES.deliveries), { client: d.clientId })}>{d.clientId}</a>
              </td>
            </tr>
            <tr>
              <th>User</th>
              <td class="mono">
                <a href={hrefWith(consoleHref(BROKER_PAGES.deliveries), { uid: d.uid })}>{d.uid}</a>
              </td>
            </tr>
            <tr>
              <th>Event</th>
              <td class="wrap">{d.event}</td>
            </tr>
            <tr>
              <th>SET id (jti)</th>
              <td class="mono">{d.jti}</td>
            </tr>
            <tr>
              <th>Created</th>
              <td>
                <Time at={d.createdAt} />
              </td>
            </tr>
            <tr>
              <th>Next attempt</th>
              <td>
                <Time at={d.nextAttemptAt} />
              </td>
            </tr>
            <tr>
              <th>Finished</th>
              <td>
                <Time at={d.finishedAt} />
              </td>
            </tr>
          </tbody>
        </table>
        <h2>Attempts</h2>
        <AttemptsTable attempts={d.attempts} />
        <h2>Event payload</h2>
        <pre class="mono">{JSON.stringify(d.payload, null, 2)}</pre>
      </>,
    );
  });

  app.post(`${BROKER_PAGES.deliveries}/:id/retry`, async (c) => {
    const id = c.req.param("id");
    await admin.retryOne(deps.admin, id);
    c.get("audit")("retry delivery", { id });
    return redirectWithNotice(c, consolePath(c.get("form").get("back")) ?? deliveryHref(id), `Delivery ${id} is due again.`);
  });
}
