// `account-config check-queues`: the visscore check of §8 for every account once, as a table on stdout.
// Exit 1 when any queue is missing or cannot be checked.
import type { ToolContext } from "../runtime/tool-spec.ts";
import { AccountConfigCache } from "./cache.ts";
import { checkAccountConfigSchema } from "./schema-check.ts";
import type { CheckQueuesSettings } from "./settings.ts";
import { VisscoreChecker } from "./visscore.ts";

export async function runCheckQueues(ctx: ToolContext<CheckQueuesSettings>): Promise<number> {
  const { settings, sql, sqs } = ctx;
  const visscore = new VisscoreChecker({ sqs, log: ctx.logger("visscore"), now: Date.now, checkRetryQueue: settings.visscoreCheckRetryQueue, ...(settings.visscoreQueueOwner ? { queueOwner: settings.visscoreQueueOwner } : {}) });
  const cache = new AccountConfigCache({ visscore });
  await checkAccountConfigSchema(sql);
  await cache.refresh(sql);
  await visscore.settled();
  const rows = [...cache.state.accounts.values()]
    .sort((a, b) => a.id - b.id)
    .flatMap((a) => {
      const s = visscore.states.get(a.id);
      const main = [a.token, s?.desired ?? "-", s?.status ?? "none", s?.url ?? s?.error ?? ""];
      return s?.retryQueue ? [main, [a.token, s.retryQueue.name, s.retryQueue.status, "(retry queue, report only)"]] : [main];
    });
  const table = [["ACCOUNT", "QUEUE", "STATUS", "URL / ERROR"], ...rows];
  const widths = [0, 1, 2].map((i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) ctx.out(r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join("  ").trimEnd());
  return rows.some((r) => (r[2] === "missing" || r[2] === "error") && !r[3]!.startsWith("(retry")) ? 1 : 0;
}
