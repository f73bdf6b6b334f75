/** @jsxImportSource hono/jsx */
// The lookup tester: would this IP or visitor id be blacklisted for this account, by which entry and
// why (explainIp / explainVisitor: the API's answer from the same matcher, with its reasons). A GET
// form: it changes nothing, so a result can be linked to.
import { Badge } from "../../console/badge.tsx";
import { CONSOLE_BASE, type ConsoleContext } from "../../console/context.ts";
import { page } from "../../console/layout.tsx";
import { HttpError } from "../../http/problem.ts";
import { explainIp, explainVisitor, type EntryRef, type IpExplanation, type VisitorExplanation } from "../lookup-explain.ts";
import type { LookupError } from "../lookups.ts";
import { accountHref } from "./accounts-page.tsx";
import type { ConfigConsoleDeps } from "./deps.ts";

export const LOOKUP_PATH = `${CONSOLE_BASE}/lookup`;
const MAX_INPUT = 64;

export function LookupForm(props: { account?: string; ip?: string; visitor?: string }) {
  return (
    <form class="search" method="get" action={LOOKUP_PATH}>
      <label>
        Account (id or token)
        <input type="text" name="account" value={props.account ?? ""} maxlength={MAX_INPUT} required />
      </label>
      <label>
        IP address
        <input type="text" name="ip" value={props.ip ?? ""} maxlength={MAX_INPUT} placeholder="203.0.113.7 or 2001:db8::1" />
      </label>
      <label>
        or visitor id
        <input type="text" name="visitor" value={props.visitor ?? ""} maxlength={MAX_INPUT} placeholder="32 letters and digits" />
      </label>
      <button type="submit">Look up</button>
    </form>
  );
}

function Verdict(props: { blacklisted: boolean; mode?: string }) {
  return props.blacklisted ? <Badge status={`blacklisted: ${props.mode}`} tone="bad" /> : <Badge status="not blacklisted" tone="ok" />;
}

function Entries(props: { entries: readonly EntryRef[]; decided: boolean }) {
  if (props.entries.length === 0) return null;
  return (
    <table>
      <thead>
        <tr><th>Entry</th><th>Mode</th><th class="num">Row id</th><th>Note</th><th /></tr>
      </thead>
      <tbody>
        {props.entries.map((e, i) => (
          <tr>
            <td><code>{e.cidr}</code></td>
            <td>{e.mode}</td>
            <td class="num">{e.id}</td>
            <td class="wrap">{e.note ?? ""}</td>
            <td>{props.decided && i === 0 ? <Badge status="decides" tone="neutral" /> : <span class="muted">shorter prefix</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function IpResult(props: { e: IpExplanation }) {
  const { e } = props;
  return (
    <section class="lookup-result">
      <p>
        <Verdict blacklisted={e.result.blacklisted} mode={e.result.blacklisted ? e.result.mode : undefined} /> <code>{e.address}</code> ({e.family})
      </p>
      <p class="reason">{e.reason}</p>
      <Entries entries={e.containing} decided={e.result.blacklisted} />
      {e.nearest ? <p class="muted">Nearest entry: <code>{e.nearest.cidr}</code> (row {e.nearest.id}), {e.nearest.sharedBits} of {e.nearest.prefix} prefix bits in common.</p> : null}
      <p class="muted">The API answers <code>{JSON.stringify(e.result)}</code>.</p>
    </section>
  );
}

function VisitorResult(props: { e: VisitorExplanation }) {
  const { e } = props;
  return (
    <section class="lookup-result">
      <p><Verdict blacklisted={e.result.blacklisted} mode={e.result.blacklisted ? e.result.mode : undefined} /></p>
      <p class="reason">{e.reason}</p>
      {e.entry?.note ? <p>Note: {e.entry.note}</p> : null}
      <p class="muted">The API answers <code>{JSON.stringify(e.result)}</code>.</p>
    </section>
  );
}

const PROBLEM: Record<LookupError["error"], string> = {
  unknown_account: "No such account.",
  invalid_ip: "Not an IPv4 or IPv6 address.",
  invalid_visitor: "A visitor id is 32 letters and digits.",
};

export function lookupPage(c: ConsoleContext, deps: ConfigConsoleDeps) {
  const field = (name: string) => c.req.query(name)?.trim().slice(0, MAX_INPUT * 2) || undefined;
  const account = field("account");
  const ip = field("ip");
  const visitor = field("visitor");
  const form = <LookupForm account={account} ip={ip} visitor={visitor} />;
  if (!account || (!ip && !visitor)) return page(c, "Blacklist lookup", form);
  if (!deps.cache.ready) throw new HttpError(503, "The first load of the configuration has not finished");
  const state = deps.cache.state;
  const explained = ip ? explainIp(state, account, ip) : explainVisitor(state, account, visitor!);
  if ("error" in explained) {
    return page(c, "Blacklist lookup", (
      <>
        {form}
        <p class="problem" role="alert">{PROBLEM[explained.error]}</p>
      </>
    ), { status: explained.error === "unknown_account" ? 404 : 400 });
  }
  const found = state.account(account)!;
  return page(c, "Blacklist lookup", (
    <>
      {form}
      <p>Account <a href={accountHref(found.id)}><code>{found.token}</code></a> ({found.name}), {ip ? "IP" : "visitor"} <code>{ip ?? visitor}</code>:</p>
      {"address" in explained ? <IpResult e={explained} /> : <VisitorResult e={explained} />}
    </>
  ));
}
