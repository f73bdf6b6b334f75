// The email-send console (issue 15): look up an address (its records, which limit refuses it and until
// when, a clear button logged with who pressed it), the newest records of every address, and the
// callers with their send-rate usage. Mounted by createEmailApp under /console only when the operator
// token (FXA_EMAIL_AUTH_TOKEN) is set; operators sign in with that token.
import { CONSOLE_BASE, type ConsoleApp, type NavLink } from "../../console/context.ts";
import type { SuppressionDeps } from "../suppression.ts";
import { ADDRESS_PATH, addressPage, CLEAR_PATH, clearAction } from "./address-page.tsx";
import { CALLERS_PATH, callersPage } from "./callers-page.tsx";
import { RECENT_PATH, recentPage } from "./recent-page.tsx";

export const EMAIL_CONSOLE_NAV: readonly NavLink[] = [
  { href: ADDRESS_PATH, label: "Addresses" },
  { href: RECENT_PATH, label: "Recent problems" },
  { href: CALLERS_PATH, label: "Callers" },
];

/** The routes, relative to the console's mount point (the paths above without /console). */
export function emailConsolePages(deps: SuppressionDeps): (app: ConsoleApp) => void {
  const local = (path: string) => path.slice(CONSOLE_BASE.length);
  return (app) => {
    app.get(local(ADDRESS_PATH), (c) => addressPage(c, deps));
    app.post(local(CLEAR_PATH), (c) => clearAction(c, deps));
    app.get(local(RECENT_PATH), (c) => recentPage(c, deps));
    app.get(local(CALLERS_PATH), (c) => callersPage(c, deps));
  };
}
