// account-config: the per-account configuration cache (the DCS AccountList loop), kept current from
// PostgreSQL without missing a change, served over HTTP to other programs.
import { commonArgs, databaseArgs, defineTool, main } from "../src/runtime/tool.ts";

/** `account-config serve` (also what runs without a command). */
const serveTool = defineTool({
  meta: { name: "account-config", description: "Per-account configuration cache: follows the attrib schemas through NOTIFY and a poll, serves them over HTTP" },
  args: {
    host: { type: "string", valueHint: "ADDRESS", description: "Address to listen on (default: $HOST or 127.0.0.1)" },
    port: { type: "string", valueHint: "PORT", description: "Port to listen on; 0 picks a free one (default: $PORT or 8080)" },
    "poll-interval-ms": { type: "string", valueHint: "MS", description: "Fallback poll period (default: $POLL_INTERVAL_MS or 10000)" },
    "stale-after-ms": { type: "string", valueHint: "MS", description: "/__heartbeat__ answers 503 when the last refresh is older (default: $STALE_AFTER_MS or 30000)" },
    "full-reload-interval-ms": { type: "string", valueHint: "MS", description: "Full reload period (default: $FULL_RELOAD_INTERVAL_MS or 3600000)" },
    listen: { type: "boolean", description: "LISTEN for changes; --no-listen polls only (default: $LISTEN or on)" },
    "visscore-check": { type: "boolean", description: "Check visscore queues in SQS (default: $VISSCORE_CHECK or on)" },
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/account-config/settings.ts")).serveSettings(input),
  resources: async (ctx) => (await import("../src/account-config/serve.ts")).createServeResources(ctx.settings),
  run: async (ctx) => (await import("../src/account-config/serve.ts")).runServe(ctx),
  // Requests and the refresh in flight get about 6 s, then connections are cut and the refresh dropped.
  stopTimeoutMs: 10_000,
  inFlight: "in-flight requests and the refresh in flight",
  migrate: {
    schemas: async () => [(await import("../src/account-config/migrations/index.ts")).ACCOUNT_CONFIG_SCHEMA],
    databaseUrl: async (env) => (await import("../src/account-config/settings.ts")).accountConfigDatabaseUrl(env),
  },
});

export const dumpTool = defineTool({
  meta: { name: "account-config dump", description: "Full load in one snapshot, printed as canonical JSON (exit 2: database unreachable, 3: unknown --account)" },
  args: {
    account: { type: "string", valueHint: "REF", description: "Only this account (id or token)" },
    "include-secrets": { type: "boolean", description: "Print connection strings instead of <redacted>" },
    compact: { type: "boolean", description: "One line instead of indented JSON" },
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/account-config/settings.ts")).dumpSettings(input),
  run: async (ctx) => (await import("../src/account-config/dump.ts")).runDump(ctx),
  stopTimeoutMs: 5_000,
  inFlight: "the dump",
});

export const checkQueuesTool = defineTool({
  meta: { name: "account-config check-queues", description: "Check every account's visscore queue in SQS once (exit 1 if any is missing)" },
  args: { ...databaseArgs, ...commonArgs },
  settings: async (input) => (await import("../src/account-config/settings.ts")).checkQueuesSettings(input),
  run: async (ctx) => (await import("../src/account-config/check-queues.ts")).runCheckQueues(ctx),
  stopTimeoutMs: 10_000,
  inFlight: "the queue checks",
});

export const resetTxidsTool = defineTool({
  meta: { name: "account-config migrate --reset-txids", description: "After a restore from another cluster: restamp every row with the current transaction id" },
  args: { ...commonArgs },
  settings: async (input) => (await import("../src/account-config/reset-txids.ts")).resetTxidsSettings(input),
  run: async (ctx) => (await import("../src/account-config/reset-txids.ts")).runResetTxids(ctx),
  stopTimeoutMs: 30_000,
  inFlight: "the reset",
});

export const tool = defineTool({
  ...serveTool,
  migrate: { ...serveTool.migrate!, variants: { "reset-txids": resetTxidsTool } },
  commands: { serve: serveTool, dump: dumpTool, "check-queues": checkQueuesTool },
});

if (import.meta.main) await main(tool);
