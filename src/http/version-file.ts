// Dockerflow's /__version__ content: a version.json in the working directory (/app in the image) wins
// over the built-in values.
import { existsSync, readFileSync } from "node:fs";
import { VERSION } from "../core/version.ts";
import type { VersionInfo } from "./dockerflow.ts";

export function versionInfo(): VersionInfo {
  const fallback = { build: "TBD", commit: "TBD", source: "https://github.com/mozilla/fxa-ops-toolkit", version: VERSION };
  if (!existsSync("version.json")) return fallback;
  return { ...fallback, ...(JSON.parse(readFileSync("version.json", "utf8")) as Partial<VersionInfo>) };
}
