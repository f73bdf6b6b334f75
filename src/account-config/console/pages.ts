// The account-config console (issue 15): the accounts with their freshness, one account's maps, and
// the blacklist lookup tester. Read-only, from the same in-memory cache as the API. Mounted by
// createConfigApp under /console only when ACCOUNT_CONFIG_ADMIN_TOKEN is set.
import { CONSOLE_BASE, type ConsoleApp, type NavLink } from "../../console/context.ts";
import { ACCOUNT_ROUTE, accountPage, MAP_ROUTE, mapPage } from "./account-page.tsx";
import { ACCOUNTS_PATH, accountsListPage } from "./accounts-page.tsx";
import type { ConfigConsoleDeps } from "./deps.ts";
import { LOOKUP_PATH, lookupPage } from "./lookup-page.tsx";

export const CONFIG_CONSOLE_NAV: readonly NavLink[] = [
  { href: ACCOUNTS_PATH, label: "Accounts" },
  { href: LOOKUP_PATH, label: "Lookup tester" },
];

export function configConsolePages(deps: ConfigConsoleDeps): (app: ConsoleApp) => void {
  const local = (path: string) => path.slice(CONSOLE_BASE.length);
  return (app) => {
    app.get(local(ACCOUNTS_PATH), (c) => accountsListPage(c, deps));
    app.get(local(ACCOUNT_ROUTE), (c) => accountPage(c, deps));
    app.get(local(MAP_ROUTE), (c) => mapPage(c, deps));
    app.get(local(LOOKUP_PATH), (c) => lookupPage(c, deps));
  };
}
