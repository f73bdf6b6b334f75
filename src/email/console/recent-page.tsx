/** @jsxImportSource hono/jsx */
// The newest bounce and complaint records of every address, in the order they were recorded (paged by
// row id), each address linked to its page: where to start when "mail to X stopped".
import { CONSOLE_BASE, type ConsoleContext } from "../../console/context.ts";
import { page } from "../../console/layout.tsx";
import { AFTER_PARAM, Pager } from "../../console/pager.tsx";
import { recentRecords, type SuppressionDeps } from "../suppression.ts";
import { addressHref } from "./address-page.tsx";
import { RecordsTable } from "./records-table.tsx";

export const RECENT_PATH = `${CONSOLE_BASE}/recent`;
const PAGE_SIZE = 50;

export async function recentPage(c: ConsoleContext, deps: SuppressionDeps) {
  const after = c.req.query(AFTER_PARAM) || undefined;
  const recent = await recentRecords(deps, { limit: PAGE_SIZE, ...(after ? { after } : {}) });
  return page(c, "Recent problems", (
    <>
      {recent.records.length === 0 ? <p class="muted">No bounce or complaint records.</p> : <RecordsTable records={recent.records} addressHref={addressHref} />}
      <Pager path={RECENT_PATH} params={{}} after={after} next={recent.next} />
    </>
  ));
}
