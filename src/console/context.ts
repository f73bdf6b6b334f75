// What a console handler finds on its Hono context (c.get(...)) once the session is checked.
import type { Context, Hono } from "hono";

/** Where a tool mounts the console: `app.route(CONSOLE_BASE, consoleRoutes(...))`. Links are built on it. */
export const CONSOLE_BASE = "/console";

export interface NavLink {
  /** A path under the console, e.g. "/console/broker/clients". */
  href: string;
  label: string;
}

/** What the page layout needs: set for every signed-in request. */
export interface ConsoleView {
  tool: string;
  nav: readonly NavLink[];
  operator: string;
  csrf: string;
  /** The request's path, to mark the current nav entry. */
  path: string;
  /** A one-line outcome of the last action (?notice=... after a redirect), shown escaped. */
  notice?: string;
}

export interface ConsoleVariables {
  /** The signed-in operator's name: who did it, for audit lines. */
  operator: string;
  /** This session's CSRF token, for <CsrfField token={...}>. */
  csrf: string;
  view: ConsoleView;
  /** A POST's urlencoded form, read once (size-limited) and CSRF-checked before the handler runs. */
  form: URLSearchParams;
  /** Logs an operator action with who did it: audit("retry delivery", { id }). */
  audit: (action: string, fields?: Record<string, unknown>) => void;
}

export type ConsoleEnv = { Variables: ConsoleVariables };
export type ConsoleApp = Hono<ConsoleEnv>;
export type ConsoleContext = Context<ConsoleEnv>;
