/** @jsxImportSource hono/jsx */
// One map of an account (events, patterns, IP entries, …) as a table: a column per field the rows
// have, in the order the model keeps them, values as text (objects as JSON). account_id is the page's
// account and left out.
import type { Row } from "../model.ts";

function cell(value: unknown) {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return <code>{JSON.stringify(value)}</code>;
  return String(value);
}

export function RowsTable(props: { rows: readonly Row[] }) {
  const columns: string[] = [];
  for (const row of props.rows) for (const key of Object.keys(row)) if (key !== "account_id" && !columns.includes(key)) columns.push(key);
  return (
    <table>
      <thead>
        <tr>{columns.map((c) => <th>{c}</th>)}</tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr>{columns.map((c) => <td class="wrap">{cell(row[c])}</td>)}</tr>
        ))}
      </tbody>
    </table>
  );
}
