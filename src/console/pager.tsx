/** @jsxImportSource hono/jsx */
// Keyset pagination: a page ends with the key of its last row; "Older" asks for the rows after it (an
// indexed range scan however deep the operator goes, unlike OFFSET). "Newest" goes back to the start.

/** A console URL with its query; empty values are left out. Attribute values are escaped by JSX. */
export function hrefWith(path: string, params: Record<string, string | number | undefined | null>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") query.set(k, String(v));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const AFTER_PARAM = "after";

export function Pager(props: {
  path: string;
  /** The filters the list was asked with (kept on every link). */
  params: Record<string, string | number | undefined | null>;
  /** The key this page started after (undefined on the first page). */
  after?: string;
  /** The key of this page's last row when more rows may follow. */
  next?: string;
}) {
  if (!props.after && !props.next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      {props.after ? <a href={hrefWith(props.path, { ...props.params, [AFTER_PARAM]: undefined })}>« Newest</a> : <span />}
      {props.next ? (
        <a rel="next" href={hrefWith(props.path, { ...props.params, [AFTER_PARAM]: props.next })}>
          Older »
        </a>
      ) : (
        <span class="muted">end of list</span>
      )}
    </nav>
  );
}

/** Rows for one page: asks the query for `limit + 1` rows, keeps `limit`, and tells the next key. */
export function pageOf<T>(rows: readonly T[], limit: number, keyOf: (row: T) => string): { rows: T[]; next?: string } {
  if (rows.length <= limit) return { rows: [...rows] };
  const kept = rows.slice(0, limit);
  return { rows: kept, next: keyOf(kept[kept.length - 1]!) };
}
