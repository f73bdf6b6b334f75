/** @jsxImportSource hono/jsx */
// The sign-in form: who you are (for the audit lines) and the tool's admin token.
import { CONSOLE_BASE } from "./context.ts";
import { Document } from "./layout.tsx";

export const OPERATOR_FIELD = "operator";
export const TOKEN_FIELD = "token";
export const NEXT_FIELD = "next";

export function LoginPage(props: { tool: string; next?: string; problem?: string; operator?: string }) {
  return (
    <Document title="Sign in" tool={props.tool}>
      <main class="login">
        <h1>{props.tool} console</h1>
        {props.problem ? (
          <p class="problem" role="alert">
            {props.problem}
          </p>
        ) : null}
        <form method="post" action={`${CONSOLE_BASE}/login`}>
          <label>
            Your name (recorded with every action)
            <input name={OPERATOR_FIELD} required maxlength={64} autocomplete="username" value={props.operator ?? ""} />
          </label>
          <label>
            Admin token
            <input name={TOKEN_FIELD} type="password" required autocomplete="current-password" />
          </label>
          {props.next ? <input type="hidden" name={NEXT_FIELD} value={props.next} /> : null}
          <button type="submit">Sign in</button>
        </form>
      </main>
    </Document>
  );
}
