/** @jsxImportSource hono/jsx */
// The hidden field every console form carries; the console refuses a POST without the session's token.
export const CSRF_FIELD = "csrf";

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={props.token} />;
}
