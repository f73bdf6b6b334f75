// Dockerflow's three routes: /__lbheartbeat__ (the process answers), /__heartbeat__ (its dependencies
// answer; the check throws when one does not, and the error funnel renders the 500) and /__version__.
import { Hono } from "hono";

export interface VersionInfo {
  build: string;
  commit: string;
  source: string;
  version: string;
}

export function dockerflowRoutes(options: { heartbeat: () => Promise<void>; version: VersionInfo }): Hono {
  const { build, commit, source, version } = options.version;
  // Keys sorted, as the original emitted them.
  const versionJson = JSON.stringify({ build, commit, source, version });
  const json = (body: string) => new Response(body, { headers: { "content-type": "application/json" } });
  return new Hono()
    .get("/__lbheartbeat__", () => json("{}"))
    .get("/__heartbeat__", async () => {
      await options.heartbeat();
      return json("{}");
    })
    .get("/__version__", () => json(versionJson));
}
