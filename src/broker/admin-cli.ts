// The admin CLI: `event-broker clients …`, `deliveries …`, `stats`, a thin face over ./admin.ts. Output is
// JSON on stdout (one object per line for lists), so it can be piped into jq.
import type { ToolContext } from "../runtime/tool-spec.ts";
import { ExitCode, UsageError } from "../core/errors.ts";
import { isHttpProblem } from "../http/problem.ts";
import * as admin from "./admin.ts";
import type { AdminSettings } from "./config.ts";

type Ctx = ToolContext<AdminSettings>;
export type AdminCommand = "clients set" | "clients list" | "clients remove" | "deliveries list" | "deliveries retry" | "stats";

function deps(ctx: Ctx): admin.AdminDeps {
  return { sql: ctx.sql, clock: Date.now, allowInsecureWebhooks: ctx.settings.allowInsecureWebhooks };
}

/** Bad input is a usage error (exit 2); an unknown id is a failure (exit 1) with one line saying so. */
async function guarded(ctx: Ctx, work: () => Promise<void>): Promise<number> {
  try {
    await work();
    return ExitCode.ok;
  } catch (error) {
    if (!isHttpProblem(error)) throw error;
    if (error.status === 400) throw new UsageError(error.message);
    ctx.log.error(`${ctx.tool}: ${error.message}`);
    return ExitCode.failure;
  }
}

export async function runAdminCommand(command: AdminCommand, ctx: Ctx): Promise<number> {
  const d = deps(ctx);
  const f = ctx.settings.flags;
  const print = (value: unknown) => ctx.out(JSON.stringify(value));
  return await guarded(ctx, async () => {
    switch (command) {
      case "clients set":
        print(await admin.setClient(d, { clientId: f.clientId, webhookUrl: f.webhookUrl, resourceServer: Boolean(f.resourceServer), format: f.format }));
        return;
      case "clients list":
        for (const client of await admin.listClients(d)) print(client);
        return;
      case "clients remove":
        await admin.removeClient(d, f.clientId);
        print({ removed: String(f.clientId).toLowerCase() });
        return;
      case "deliveries list":
        for (const delivery of await admin.listDeliveries(d, { clientId: f.client, uid: f.uid, status: f.status, before: f.before, limit: f.limit })) print(delivery);
        return;
      case "deliveries retry":
        if (f.id !== undefined) {
          if (f.client !== undefined || f.dead || f.since !== undefined) throw new UsageError("give either a delivery id or --client <id> --dead [--since TIME]");
          await admin.retryOne(d, f.id);
          print({ retried: String(f.id) });
        } else if (f.client !== undefined && f.dead) {
          print({ client: String(f.client).toLowerCase(), ...(await admin.retryDead(d, f.client, f.since)) });
        } else {
          throw new UsageError("give a delivery id, or --client <id> --dead to replay a client's dead deliveries");
        }
        return;
      case "stats":
        print(await admin.stats(d));
        return;
    }
  });
}
