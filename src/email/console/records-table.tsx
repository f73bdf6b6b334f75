/** @jsxImportSource hono/jsx */
// Bounce and complaint records as a table: when, what (type and subtype by name, with the stored
// codes), and optionally which address (linked to its page) and whether the send check counts it.
import { Badge } from "../../console/badge.tsx";
import { Time } from "../../console/time.tsx";
import type { BouncePage } from "../suppression.ts";

const TONE = { hard: "bad", complaint: "bad", soft: "warn" } as const;

export function RecordsTable(props: { records: BouncePage["records"]; counted?: number; addressHref?: (address: string) => string }) {
  const { addressHref, counted } = props;
  return (
    <table class="records">
      <thead>
        <tr>
          <th>Recorded</th>
          {addressHref ? <th>Address</th> : null}
          <th>Problem</th>
          <th>Subtype</th>
          <th class="num">Codes</th>
          {counted !== undefined ? <th>Counted by the check</th> : null}
        </tr>
      </thead>
      <tbody>
        {props.records.map((r, i) => (
          <tr>
            <td><Time at={r.createdAt} /></td>
            {addressHref ? <td class="wrap"><a href={addressHref(r.email)}>{r.email}</a></td> : null}
            <td><Badge status={r.problem ?? "unknown"} tone={r.problem ? TONE[r.problem as keyof typeof TONE] : "neutral"} /></td>
            <td>{r.subtype ?? "unknown"}</td>
            <td class="num mono">{r.bounceType}/{r.bounceSubType}</td>
            {counted !== undefined ? <td>{i < counted ? "yes" : <span class="muted">no (older than the newest {counted})</span>}</td> : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
