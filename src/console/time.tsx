/** @jsxImportSource hono/jsx */
// A moment in time: UTC text from the server (readable with JavaScript off); the console script rewrites
// it to the operator's time zone and keeps UTC in the hover title.

export type Moment = number | Date | string;

export function toDate(at: Moment): Date {
  return at instanceof Date ? at : new Date(at);
}

/** "2026-11-29 05:45:12 UTC" */
export function utcText(at: Moment): string {
  return toDate(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function Time(props: { at: Moment | null | undefined; empty?: string }) {
  if (props.at === null || props.at === undefined) return <span class="muted">{props.empty ?? "—"}</span>;
  const date = toDate(props.at);
  if (Number.isNaN(date.getTime())) return <span class="muted">{String(props.at)}</span>;
  const text = utcText(date);
  return (
    <time datetime={date.toISOString()} title={text}>
      {text}
    </time>
  );
}
