/** @jsxImportSource hono/jsx */
// The relying parties: where their SETs go and how, how their endpoint has been answering (the last
// attempts recorded by any broker process), whether this process has backed it off, and "replay dead
// deliveries since …" (admin.retryDead, as POST /v1/admin/deliveries/retry and `deliveries retry --dead`).
import { Badge } from "../../console/badge.tsx";
import type { ConsoleApp } from "../../console/context.ts";
import { CsrfField } from "../../console/csrf-field.tsx";
import { page } from "../../console/layout.tsx";
import { hrefWith } from "../../console/pager.tsx";
import { redirectWithNotice } from "../../console/routes.tsx";
import { Sparkline } from "../../console/sparkline.tsx";
import { Time, utcText } from "../../console/time.tsx";
import * as admin from "../admin.ts";
import { isSuccess, outcomeText } from "./attempts-table.tsx";
import { BROKER_PAGES, consoleHref, type BrokerConsoleDeps } from "./paths.ts";

const SPARK_ATTEMPTS = 30;

export function clientsPages(app: ConsoleApp, deps: BrokerConsoleDeps): void {
  app.get(BROKER_PAGES.clients, async (c) => {
    const [clients, recent, stats] = await Promise.all([admin.listClients(deps.admin), admin.recentAttempts(deps.admin, SPARK_ATTEMPTS), admin.stats(deps.admin)]);
    const now = deps.admin.clock();
    const backedOff = new Map((deps.backedOff?.(now) ?? []).map((e) => [e.clientId, e]));
    const csrf = c.get("csrf");
    return page(
      c,
      "Clients",
      <>
        <p class="muted">
          Recent attempts: the last {SPARK_ATTEMPTS} recorded by every broker process (bar height: latency; red: failed).{" "}
          {deps.backedOff
            ? "Back-off: endpoint health is kept per process; this shows what this process's delivery workers learned."
            : "Back-off: endpoint health is kept per process, and this process runs no delivery workers, so it has none to show."}
        </p>
        {clients.length === 0 ? (
          <p class="muted">No client registered (event-broker clients set …).</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Client</th>
                <th>Webhook</th>
                <th>Format</th>
                <th>Resource server</th>
                <th>Recent attempts</th>
                <th>Back-off</th>
                <th class="num">Dead</th>
                <th>Replay dead deliveries</th>
              </tr>
            </thead>
            <tbody>
              {clients.map((client) => {
                const attempts = recent[client.clientId] ?? [];
                const failed = attempts.filter((a) => !isSuccess(a)).length;
                const last = attempts[attempts.length - 1];
                const open = backedOff.get(client.clientId);
                const dead = stats.clients[client.clientId]?.dead ?? 0;
                return (
                  <tr id={`client-${client.clientId}`}>
                    <td>
                      <a href={hrefWith(consoleHref(BROKER_PAGES.deliveries), { client: client.clientId })}>{client.clientId}</a>
                    </td>
                    <td class="wrap mono">{client.webhookUrl}</td>
                    <td>{client.format}</td>
                    <td>{client.resourceServer ? "yes" : "no"}</td>
                    <td>
                      <Sparkline
                        label={`${client.clientId}: ${attempts.length} recent attempts, ${failed} failed`}
                        points={attempts.map((a) => ({ value: a.latencyMs, bad: !isSuccess(a), label: `${utcText(a.at)}: ${outcomeText(a)}, ${a.latencyMs} ms${a.error ? `, ${a.error.slice(0, 80)}` : ""}` }))}
                      />{" "}
                      {last ? (
                        <span class="muted">
                          {attempts.length - failed}/{attempts.length} ok, last {outcomeText(last)} <Time at={last.at} />
                        </span>
                      ) : null}
                    </td>
                    <td>
                      {open ? (
                        <>
                          <Badge status="backed off" title={`${open.failures} failures in a row`} /> until <Time at={open.until} />
                        </>
                      ) : deps.backedOff ? (
                        <Badge status="ok" />
                      ) : (
                        <span class="muted">n/a</span>
                      )}
                    </td>
                    <td class="num">
                      {dead > 0 ? <a href={hrefWith(consoleHref(BROKER_PAGES.deliveries), { client: client.clientId, status: "dead" })}>{dead}</a> : 0}
                    </td>
                    <td>
                      <form
                        class="inline replay"
                        method="post"
                        action={consoleHref(`${BROKER_PAGES.clients}/${encodeURIComponent(client.clientId)}/replay-dead`)}
                        data-confirm={`Make ${client.clientId}'s dead deliveries due again?`}
                      >
                        <CsrfField token={csrf} />
                        <label>
                          died since (UTC, empty: all)
                          <input type="datetime-local" name="since" step="1" />
                        </label>
                        <button type="submit" class="secondary">
                          Replay dead
                        </button>
                      </form>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </>,
    );
  });

  app.post(`${BROKER_PAGES.clients}/:clientId/replay-dead`, async (c) => {
    const clientId = c.req.param("clientId");
    const since = c.get("form").get("since") ?? "";
    const { count } = await admin.retryDead(deps.admin, clientId, since);
    c.get("audit")("replay dead deliveries", { clientId, since: since || null, count });
    return redirectWithNotice(c, consoleHref(BROKER_PAGES.clients), `${count} dead ${count === 1 ? "delivery" : "deliveries"} of ${clientId}${since ? ` (died since ${since} UTC)` : ""} due again.`);
  });
}
