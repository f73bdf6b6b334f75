/** @jsxImportSource hono/jsx */
// Live counters (pending, delivered, dead, superseded) and each client's share: admin.stats, as the
// JSON API's /v1/admin/stats. The script refreshes the totals from counters.json; without it the page
// reloads itself.
import { Badge } from "../../console/badge.tsx";
import type { ConsoleApp } from "../../console/context.ts";
import { page } from "../../console/layout.tsx";
import { hrefWith } from "../../console/pager.tsx";
import { Time } from "../../console/time.tsx";
import * as admin from "../admin.ts";
import { BROKER_PAGES, consoleHref, type BrokerConsoleDeps } from "./paths.ts";

const REFRESH_SECONDS = 15;

export function overviewPages(app: ConsoleApp, deps: BrokerConsoleDeps): void {
  app.get(BROKER_PAGES.counters, async (c) => c.json((await admin.stats(deps.admin)).totals));

  app.get(BROKER_PAGES.overview, async (c) => {
    const stats = await admin.stats(deps.admin);
    const backedOff = deps.backedOff?.(deps.admin.clock());
    const clients = Object.entries(stats.clients);
    return page(
      c,
      "Overview",
      <>
        <section class="counters" data-live={consoleHref(BROKER_PAGES.counters)} data-every="5000" aria-label="Deliveries by status">
          {admin.STATUSES.map((status) => (
            <div class="counter">
              <b data-count={status}>{stats.totals[status]}</b>
              <Badge status={status} />
            </div>
          ))}
        </section>
        <h2>By client</h2>
        {clients.length === 0 ? (
          <p class="muted">No deliveries yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Client</th>
                <th class="num">Pending</th>
                <th>Oldest pending</th>
                <th class="num">Delivered</th>
                <th class="num">Dead</th>
                <th class="num">Superseded</th>
              </tr>
            </thead>
            <tbody>
              {clients.map(([clientId, counts]) => (
                <tr>
                  <td>
                    <a href={hrefWith(consoleHref(BROKER_PAGES.deliveries), { client: clientId })}>{clientId}</a>
                  </td>
                  <td class="num">{counts.pending ?? 0}</td>
                  <td>
                    <Time at={counts.oldestPending} />
                  </td>
                  <td class="num">{counts.delivered ?? 0}</td>
                  <td class="num">
                    {counts.dead ? <a href={hrefWith(consoleHref(BROKER_PAGES.deliveries), { client: clientId, status: "dead" })}>{counts.dead}</a> : 0}
                  </td>
                  <td class="num">{counts.superseded ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {backedOff && backedOff.length > 0 ? (
          <p>
            Backed off by this process's delivery workers:{" "}
            {backedOff.map((e) => (
              <>
                <Badge status={e.clientId} tone="bad" />{" "}
              </>
            ))}
          </p>
        ) : null}
      </>,
      {
        head: (
          <noscript>
            <meta http-equiv="refresh" content={String(REFRESH_SECONDS)} />
          </noscript>
        ),
      },
    );
  });
}
