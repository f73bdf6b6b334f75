// Settings shared by the tokenserver tools: where the database is and the spanner-node override.
import { z } from "zod";
import { parseSettings, type Env } from "../core/config.ts";
import { UsageError } from "../core/errors.ts";
import { normalizeDatabaseUrl } from "../db/client.ts";

export interface TokenserverDbSettings {
  databaseUrl: string;
  spannerNodeId?: string;
  capacityReleaseRate: number;
}

export function tokenserverDbSettings(env: Env): TokenserverDbSettings {
  const url = env.SYNC_TOKENSERVER__DATABASE_URL || env.DATABASE_URL;
  if (!url) throw new UsageError("SYNC_TOKENSERVER__DATABASE_URL (or DATABASE_URL) must be set");
  if (!/^postgres(ql)?(\+\w+)?:\/\//.test(url)) {
    throw new UsageError(`SYNC_TOKENSERVER__DATABASE_URL: only PostgreSQL URLs are supported (got scheme ${url.split(":")[0]})`);
  }
  const parsed = parseSettings(
    z.object({ capacityReleaseRate: z.coerce.number().positive().max(1) }),
    { capacityReleaseRate: env.NODE_CAPACITY_RELEASE_RATE ?? 0.1 },
    { capacityReleaseRate: "NODE_CAPACITY_RELEASE_RATE" },
  );
  return {
    databaseUrl: normalizeDatabaseUrl(url),
    spannerNodeId: env.SYNC_TOKENSERVER__SPANNER_NODE_ID || undefined,
    capacityReleaseRate: parsed.capacityReleaseRate,
  };
}
