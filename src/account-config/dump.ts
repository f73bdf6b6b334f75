// `account-config dump` (spec/account-config.md §9): one full load in one snapshot, printed as canonical
// JSON. The accounts serialise through the same function as `GET /accounts/:ref`, without the cache-time
// `lastUpdated` stamps, so two dumps of an unchanged database have equal `accounts` bytes.
// Exit codes: 0, 2 when the database cannot be reached, 3 for an unknown --account.
import type { ToolContext } from "../runtime/tool-spec.ts";
import { isTransientDbError } from "../db/errors.ts";
import { AccountConfigCache } from "./cache.ts";
import type { ConfigState } from "./model.ts";
import { checkAccountConfigSchema } from "./schema-check.ts";
import type { DumpSettings } from "./settings.ts";
import { accountView, defaultPatterns } from "./view.ts";

export const DumpExit = { unreachable: 2, unknownAccount: 3 } as const;

export interface DumpOptions {
  now: number;
  xmin: string;
  includeSecrets?: boolean;
  /** Only this account (id or token). */
  account?: string;
}

/** The dump document, or undefined when `account` is given and unknown. */
export function dumpDocument(state: ConfigState, options: DumpOptions) {
  const chosen = options.account === undefined ? [...state.accounts.values()].sort((a, b) => a.id - b.id) : [state.account(options.account)];
  if (chosen.some((a) => a === undefined)) return undefined;
  return {
    generatedAt: new Date(options.now).toISOString(),
    snapshot: { xmin: options.xmin },
    accounts: chosen.map((a) => accountView(state, a!, { now: options.now, includeSecrets: options.includeSecrets === true })),
    defaultPatterns: defaultPatterns(state),
  };
}

export async function runDump(ctx: ToolContext<DumpSettings>): Promise<number> {
  const { settings, log, sql } = ctx;
  const cache = new AccountConfigCache();
  try {
    await checkAccountConfigSchema(sql);
    await cache.refresh(sql);
  } catch (error) {
    if (!isTransientDbError(error)) throw error;
    log.error(`account-config dump: cannot reach the database (${(error as Error).message})`);
    return DumpExit.unreachable;
  }
  const doc = dumpDocument(cache.state, {
    now: cache.now(),
    xmin: cache.frontier!.xmin,
    includeSecrets: settings.includeSecrets,
    ...(settings.account !== undefined ? { account: settings.account } : {}),
  });
  if (!doc) {
    log.error(`account-config dump: unknown account ${JSON.stringify(settings.account)}`);
    return DumpExit.unknownAccount;
  }
  ctx.out(settings.compact ? JSON.stringify(doc) : JSON.stringify(doc, null, 2));
  return 0;
}
