// `account-config migrate --reset-txids` (spec/account-config.md §4): after a pg_dump/restore into another
// cluster, restamps every row so no stamp is ahead of this cluster's transaction ids.
import type { commonArgs, SettingsInput, ToolContext } from "../runtime/tool-spec.ts";
import { commonSettings } from "../runtime/tool-settings.ts";
import { resetTxids } from "./queries.ts";
import { accountConfigDatabaseUrl } from "./settings.ts";

export function resetTxidsSettings(input: SettingsInput<typeof commonArgs>) {
  return {
    ...commonSettings(input, "account-config"),
    database: { url: accountConfigDatabaseUrl(input.env), poolSize: 1, statementTimeout: 0, waitTimeout: 10 },
  };
}

export async function runResetTxids(ctx: ToolContext<ReturnType<typeof resetTxidsSettings>>): Promise<void> {
  await resetTxids(ctx.sql);
  ctx.out("account-config change_txid stamps reset; running caches reload fully");
}
