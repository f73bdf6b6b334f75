// Settings shared by the tokenserver tools: where the database is and the spanner-node override.
import { z } from "zod";
import { parseSettings, type Env } from "../core/config.ts";
import { databaseUrlFrom } from "../db/database-url.ts";

export interface TokenserverDbSettings {
  databaseUrl: string;
  spannerNodeId?: string;
  capacityReleaseRate: number;
}

export function tokenserverDbSettings(env: Env): TokenserverDbSettings {
  const databaseUrl = databaseUrlFrom(env, ["SYNC_TOKENSERVER__DATABASE_URL", "DATABASE_URL"]); // the original's name first
  const parsed = parseSettings(
    z.object({ capacityReleaseRate: z.coerce.number().positive().max(1) }),
    { capacityReleaseRate: env.NODE_CAPACITY_RELEASE_RATE ?? 0.1 },
    { capacityReleaseRate: "NODE_CAPACITY_RELEASE_RATE" },
  );
  return {
    databaseUrl,
    spannerNodeId: env.SYNC_TOKENSERVER__SPANNER_NODE_ID || undefined,
    capacityReleaseRate: parsed.capacityReleaseRate,
  };
}
