// `Authorization: Bearer <token>` with a constant-time comparison (of SHA-256 digests, so the
// comparison takes the same time whatever the length of the guess).
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./problem.ts";

const digest = (text: string) => createHash("sha256").update(text).digest();

export function tokenMatches(expected: string, presented: string): boolean {
  return timingSafeEqual(digest(expected), digest(presented));
}

export function bearerToken(expected: string): MiddlewareHandler {
  return async function bearerToken(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match || !tokenMatches(expected, match[1]!)) throw new HttpError(401, "Missing or invalid bearer token");
    await next();
  };
}
