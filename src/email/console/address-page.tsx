/** @jsxImportSource hono/jsx */
// The address page: what the send check sees for one address (suppression.ts's report: which limit
// refuses it now and until when), where it stands against each caller's per-recipient limit, every
// record it has (paged), and the clear button. A view only: the answers are the JSON API's.
import { Badge } from "../../console/badge.tsx";
import { CONSOLE_BASE, type ConsoleContext } from "../../console/context.ts";
import { CsrfField } from "../../console/csrf-field.tsx";
import { page } from "../../console/layout.tsx";
import { AFTER_PARAM, hrefWith, Pager } from "../../console/pager.tsx";
import { redirectWithNotice } from "../../console/routes.tsx";
import { Time } from "../../console/time.tsx";
import { BOUNCE_HISTORY_LIMIT } from "../bounce-store.ts";
import { recipientUsage, type RecipientLimitUsage } from "../callers.ts";
import { EmailError } from "../errors.ts";
import { addressHistory, addressParam, addressReport, clearAddress, type AddressReport, type BouncePage, type SuppressionDeps } from "../suppression.ts";
import { RecordsTable } from "./records-table.tsx";

export const ADDRESS_PATH = `${CONSOLE_BASE}/addresses`;
export const CLEAR_PATH = `${ADDRESS_PATH}/clear`;
export const ADDRESS_PARAM = "address";
const HISTORY_PAGE = 50;

export const addressHref = (address: string) => hrefWith(ADDRESS_PATH, { [ADDRESS_PARAM]: address });

function LookupForm(props: { value?: string }) {
  return (
    <form class="search" method="get" action={ADDRESS_PATH}>
      <label>
        Email address
        <input type="text" name={ADDRESS_PARAM} value={props.value ?? ""} size={40} required autofocus />
      </label>
      <button type="submit">Look up</button>
    </form>
  );
}

function Verdict(props: { report: AddressReport }) {
  const { report } = props;
  if (!report.checksEnabled) return <p><Badge status="checks disabled" tone="neutral" /> Bounce and complaint checks are off (<code>FXA_EMAIL_DELIVERYPROBLEMLIMITS_ENABLED=false</code>): nothing is refused for its records.</p>;
  const refused = report.refused;
  if (!refused) return <p><Badge status="can be mailed" tone="ok" /> No bounce or complaint limit refuses this address now.</p>;
  const { limit } = refused;
  return (
    <div class="refusal">
      <p>
        <Badge status="refused" tone="bad" /> <strong>{refused.message}</strong> (errno {refused.errno}): the <strong>{refused.problem}</strong> limit allows{" "}
        {limit.limit} per {limit.period}, and the count went over it with the record of <Time at={refused.record.createdAt} />.
      </p>
      <p>
        Refused until <strong><Time at={refused.until} /></strong>, unless a new problem is recorded before then.
      </p>
    </div>
  );
}

function RateLimits(props: { usage: RecipientLimitUsage[] }) {
  if (props.usage.length === 0) return null;
  return (
    <>
      <h2>Per-recipient send-rate limits</h2>
      <table>
        <thead>
          <tr><th>Caller</th><th class="num">Sent this window</th><th>Limit</th><th>Window ends</th><th>Status</th></tr>
        </thead>
        <tbody>
          {props.usage.map((u) => (
            <tr>
              <td><code>{u.caller}</code></td>
              <td class="num">{u.count}</td>
              <td>{u.limit} per {u.period}</td>
              <td><Time at={u.windowEnd} /></td>
              <td>{u.refusedUntil ? <span><Badge status="refused" tone="bad" /> until <Time at={u.refusedUntil} /></span> : <Badge status="ok" />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ClearForm(props: { address: string; csrf: string }) {
  return (
    <form method="post" action={CLEAR_PATH} data-confirm={`Delete every bounce and complaint record of ${props.address}?`}>
      <CsrfField token={props.csrf} />
      <input type="hidden" name={ADDRESS_PARAM} value={props.address} />
      <button type="submit">Clear records of {props.address}</button>
    </form>
  );
}

function AddressBody(props: { report: AddressReport; usage: RecipientLimitUsage[]; history: BouncePage; after?: string; csrf: string }) {
  const { report, history, after } = props;
  return (
    <>
      <h2 class="wrap">{report.address}</h2>
      <Verdict report={report} />
      <RateLimits usage={props.usage} />
      <h2>Records</h2>
      {history.records.length === 0 ? (
        <p class="muted">No bounce or complaint records.</p>
      ) : (
        <>
          <p class="muted">Newest first; the check counts the newest {BOUNCE_HISTORY_LIMIT}.</p>
          <RecordsTable records={history.records} counted={after ? 0 : BOUNCE_HISTORY_LIMIT} />
          <Pager path={ADDRESS_PATH} params={{ [ADDRESS_PARAM]: report.address }} after={after} next={history.next} />
          <ClearForm address={report.address} csrf={props.csrf} />
        </>
      )}
    </>
  );
}

export async function addressPage(c: ConsoleContext, deps: SuppressionDeps) {
  const raw = c.req.query(ADDRESS_PARAM)?.trim();
  if (!raw) return page(c, "Look up an address", <LookupForm />);
  let address: string;
  try {
    address = addressParam(raw);
  } catch (error) {
    if (!(error instanceof EmailError)) throw error;
    const body = (
      <>
        <LookupForm value={raw} />
        <p class="problem" role="alert">{error.message}</p>
      </>
    );
    return page(c, "Look up an address", body, { status: 400 });
  }
  const after = c.req.query(AFTER_PARAM) || undefined;
  const [report, usage, history] = await Promise.all([
    addressReport(deps, address),
    recipientUsage(deps.sql, address, deps.now()),
    addressHistory(deps, address, { limit: HISTORY_PAGE, ...(after ? { after } : {}) }),
  ]);
  return page(c, "Look up an address", (
    <>
      <LookupForm value={address} />
      <AddressBody report={report} usage={usage} history={history} after={after} csrf={c.get("csrf")} />
    </>
  ));
}

/** POST: deletes the address's records, logged with the signed-in operator, then back to the address. */
export async function clearAction(c: ConsoleContext, deps: SuppressionDeps) {
  const address = addressParam(c.get("form").get(ADDRESS_PARAM) ?? "");
  const { deleted } = await clearAddress(deps, address, c.get("operator"));
  return redirectWithNotice(c, addressHref(address), `Cleared ${deleted} record${deleted === 1 ? "" : "s"} of ${address}.`);
}
