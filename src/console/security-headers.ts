// Headers on every console response: nothing but the console's own script and stylesheet may run or
// load, no framing, no referrer, nothing cached (pages show live and personal data).
import type { MiddlewareHandler } from "hono";

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const securityHeaders: MiddlewareHandler = async function securityHeaders(c, next) {
  await next();
  const headers = c.res.headers;
  headers.set("content-security-policy", CONSOLE_CSP);
  headers.set("x-content-type-options", "nosniff");
  headers.set("referrer-policy", "no-referrer");
  headers.set("x-frame-options", "DENY");
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
};
