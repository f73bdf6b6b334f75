// A second line behind the CSRF token: a state-changing request that says where it came from (Origin,
// Sec-Fetch-Site) must say it came from this console's own origin. Old clients send neither; they still
// need the token.
import type { Context } from "hono";

/** The origin the request was made to, as the browser saw it (https when a proxy says so). */
export function requestOrigin(c: Context): string {
  const url = new URL(c.req.url);
  const proto = isHttps(c) ? "https:" : url.protocol;
  return `${proto}//${c.req.header("host") ?? url.host}`;
}

export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}

export function crossSiteProblem(c: Context): string | undefined {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return `Sec-Fetch-Site ${site}`;
  const origin = c.req.header("origin");
  // "null": the browser hides the origin (the console's Referrer-Policy no-referrer makes Chromium send
  // that on form posts); Sec-Fetch-Site above and the CSRF token still decide.
  if (origin !== undefined && origin !== "null" && origin !== requestOrigin(c)) {
    // Behind a TLS-terminating proxy without X-Forwarded-Proto the scheme differs; the host must not.
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!/^https?:\/\/[^/]+$/.test(origin) || new URL(origin).host !== host) return `Origin ${origin}`;
  }
  return undefined;
}
