// purge-old-records: deletes replaced tokenserver user rows and their data on the storage nodes.
import { commonArgs, databaseArgs, defineTool, main } from "../src/runtime/tool.ts";

export const tool = defineTool({
  meta: {
    name: "purge-old-records",
    description: "Delete replaced tokenserver user records and their data on the storage nodes (Hawk-signed DELETEs)",
  },
  args: {
    secret: { type: "positional", required: false, description: "Shared secret of the storage nodes (or --secret-file / PURGE_SECRET)" },
    "secret-file": { type: "string", valueHint: "FILE", description: "Read the secret from this file (keeps it out of the process list)" },
    "purge-interval": { type: "string", valueHint: "SECONDS", default: "3600", description: "Seconds between runs (without --oneshot)" },
    "grace-period": { type: "string", valueHint: "SECONDS", default: "86400", description: "Seconds a replaced record is kept before it is purged" },
    "max-per-loop": { type: "string", valueHint: "N", default: "10", description: "Rows fetched per batch" },
    "max-offset": { type: "string", valueHint: "N", default: "0", description: "Random offset 0..N for each batch (spreads parallel runs)" },
    "max-records": { type: "string", valueHint: "N", default: "0", description: "Stop after purging this many rows in the run (0: no limit)" },
    "request-timeout": { type: "string", valueHint: "SECONDS", default: "60", description: "Seconds to wait for a storage node" },
    "max-retries": { type: "string", valueHint: "N", default: "5", description: "Attempts for a storage delete answered 4xx (not 404) or 505+" },
    concurrency: { type: "string", valueHint: "N", default: "4", description: "Rows handled at once per storage node" },
    "max-runtime": { type: "string", valueHint: "SECONDS", description: "Stop taking new batches after this many seconds" },
    oneshot: { type: "boolean", description: "One run, then exit (1 when the run failed)" },
    dryrun: { type: "boolean", description: "Write nothing; print one JSON line per row and a summary" },
    force: { type: "boolean", description: "Also purge rows whose node is downed" },
    ledger: { type: "boolean", description: "Append every purged or failed row to purge_ledger" },
    override_node: { type: "string", valueHint: "URL", description: "Node URL for --force deletes (Spanner migration)" },
    range_start: { type: "string", valueHint: "UID", description: "Only uids greater than this" },
    range_end: { type: "string", valueHint: "UID", description: "Only uids less than this" },
    ...databaseArgs,
    ...commonArgs,
  },
  settings: async (input) => (await import("../src/tokenserver/purge-config.ts")).purgeSettings(input),
  checkSchema: async (sql) => (await import("../src/tokenserver/repository.ts")).createTokenserverRepository(sql).checkSchema(),
  run: async (ctx) => (await import("../src/tokenserver/purge-tool.ts")).runPurgeTool(ctx),
  // Rows in hand get 20 s; then their storage requests and statements are cancelled (found again next run).
  stopTimeoutMs: 30_000,
  inFlight: "the rows in hand",
  migrate: {
    schemas: async () => {
      const { TOKENSERVER_SCHEMA, PURGE_LEDGER_SCHEMA } = await import("../src/tokenserver/migrations/index.ts");
      return [TOKENSERVER_SCHEMA, PURGE_LEDGER_SCHEMA];
    },
    databaseUrl: async (env) => (await import("../src/tokenserver/config.ts")).tokenserverDbSettings(env).databaseUrl,
  },
});

if (import.meta.main) await main(tool);
