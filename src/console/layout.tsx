/** @jsxImportSource hono/jsx */
// The page frame: the tool's nav, who is signed in and a sign-out button, the last action's notice.
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { SCRIPT_PATH, STYLE_PATH } from "./assets.ts";
import { CONSOLE_BASE, type ConsoleContext, type ConsoleView } from "./context.ts";
import { CsrfField } from "./csrf-field.tsx";

export function Document(props: { title: string; tool: string; head?: Child; children?: Child }) {
  // The doctype is the one constant string written raw; everything else goes through JSX escaping.
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${props.title} · ${props.tool} console`}</title>
        <link rel="stylesheet" href={CONSOLE_BASE + STYLE_PATH} />
        <script src={CONSOLE_BASE + SCRIPT_PATH} defer></script>
        {props.head}
      </head>
      <body>{props.children}</body>
      </html>
    </>
  );
}

export function Layout(props: { view: ConsoleView; title: string; head?: Child; children?: Child }) {
  const { view } = props;
  return (
    <Document title={props.title} tool={view.tool} head={props.head}>
      <header class="top">
        <span class="tool">{view.tool}</span>
        <nav aria-label="Console">
          {view.nav.map((link) => (
            <a href={link.href} aria-current={view.path === link.href || view.path.startsWith(link.href + "/") ? "page" : undefined}>
              {link.label}
            </a>
          ))}
        </nav>
        <span class="who">{view.operator}</span>
        <form method="post" action={`${CONSOLE_BASE}/logout`}>
          <CsrfField token={view.csrf} />
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>
        <h1>{props.title}</h1>
        {view.notice ? (
          <p class="notice" role="status">
            {view.notice}
          </p>
        ) : null}
        {props.children}
      </main>
    </Document>
  );
}

/** A full console page as the response: `return page(c, "Clients", <table>…</table>)`. */
export function page(c: ConsoleContext, title: string, body: Child, options: { head?: Child; status?: 200 | 400 | 404 } = {}) {
  return c.html(
    <Layout view={c.get("view")} title={title} head={options.head}>
      {body}
    </Layout>,
    options.status ?? 200,
  );
}
