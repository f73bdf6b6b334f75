// Reference vectors live in ../shared/vectors (CI clones the repository with shared/ beside it).
// SHARED_VECTORS_DIR points a checkout elsewhere at them.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = process.env.SHARED_VECTORS_DIR ?? fileURLToPath(new URL("../../../shared/vectors/", import.meta.url));

/** Parses `vectors/<path>` as JSON. */
export function readVector<T>(path: string): T {
  return JSON.parse(readFileSync(`${ROOT}/${path}`, "utf8")) as T;
}

/** The file names in `vectors/<dir>`, sorted. */
export function listVectors(dir: string): string[] {
  return readdirSync(`${ROOT}/${dir}`).sort();
}
