/** @jsxImportSource hono/jsx */
// The operator console's shared core: sign-in, sessions, CSRF, security headers, assets, error pages.
// A tool adds its pages; the pages are thin views over the same modules as its JSON admin API and CLI.
//
// API (other tools code against this; additions only):
//   app.route(CONSOLE_BASE, consoleRoutes({ tool, token, nav, pages, now?, log? }))
//     mounted by a tool only when its admin token is set.
//   - pages(app): registers the tool's routes on a Hono<ConsoleEnv> under /console. Every route it adds
//     already has a valid session: GETs without one are redirected to /console/login, other methods get
//     401; a POST also passed the same-origin check and its CSRF token (form field `csrf`, else 403).
//   - In a handler: c.get("operator"), c.get("csrf"), c.get("form") (a POST's URLSearchParams, already
//     read), c.get("audit")("what was done", { fields }) (logs with the operator's name), c.get("view").
//   - Render with page(c, title, <jsx/>) from ./layout.tsx; components: <Time at>, <CsrfField token>,
//     <Pager>, pageOf(), hrefWith(), <Badge status>, <Sparkline points label>. Finish an action with
//     redirectWithNotice(c, "/console/...", "what happened") (a 303 and a one-time notice on the page).
//   - Throw HttpError (src/http/problem.ts) to refuse: a person sees an HTML page, other callers our JSON
//     error shape, both with the status.
//   - GET /console goes to nav[0]; unknown console paths are 404.
//
// Security model: the session is a stateless cookie signed under a key derived from the admin token
// (./session.ts): HttpOnly, SameSite=Strict, Path=/console, Secure over https, 12 h. It names the operator
// for audit lines. Signing out clears the cookie; rotating the admin token ends every session.
import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Logger } from "../core/logger.ts";
import { tokenMatches } from "../http/bearer-token.ts";
import { readBodyWithin } from "../http/body-limit.ts";
import { HttpError, isHttpProblem } from "../http/problem.ts";
import { assetRoutes } from "./assets.ts";
import { CONSOLE_BASE, type ConsoleApp, type ConsoleContext, type ConsoleEnv, type NavLink } from "./context.ts";
import { CSRF_FIELD } from "./csrf-field.tsx";
import { LoginPage, NEXT_FIELD, OPERATOR_FIELD, TOKEN_FIELD } from "./login-page.tsx";
import { renderProblem } from "./problem-page.tsx";
import { crossSiteProblem, isHttps } from "./same-origin.ts";
import { securityHeaders } from "./security-headers.ts";
import { csrfMatches, csrfToken, decodeSession, encodeSession, newSession, SESSION_LIFETIME_MS, sessionKeys } from "./session.ts";
import { SIGN_IN_THROTTLE, signInThrottle, type ThrottlePolicy } from "./sign-in-throttle.ts";
import type { ServerEnv } from "../http/serve.ts";

export interface ConsoleOptions {
  /** The tool's name, shown in the header and part of the cookie name and signing key. */
  tool: string;
  /** The tool's admin token: what an operator signs in with, and what the session key derives from. */
  token: string;
  nav: readonly NavLink[];
  pages: (app: ConsoleApp) => void;
  /** Epoch ms; injected by tests to expire sessions. */
  now?: () => number;
  /** Where sign-ins and audit lines go. */
  log?: Logger;
  sessionLifetimeMs?: number;
  /** Wrong tokens allowed per client address and window (default 10 per 15 minutes). */
  signInThrottle?: ThrottlePolicy;
}

/** Forms are small: a few ids and a date. */
const MAX_FORM_BYTES = 16 * 1024;
const OPERATOR_NAME = /^[\p{L}\p{N} ._@'-]{1,64}$/u;
const NOTICE_MAX = 300;

const cookieName = (tool: string) => `console_${tool.replace(/[^A-Za-z0-9]/g, "_")}`;
const noticeCookie = (tool: string) => `${cookieName(tool)}_notice`;

/** A console path to return to after sign-in or an action; anything else (another site, `//x`) is dropped. */
export function consolePath(value: string | null | undefined): string | undefined {
  if (!value || value.length > 2048) return undefined;
  if (!/^\/console(?:[/?]|$)/.test(value) || /\/\/|\\/.test(value)) return undefined;
  return value;
}

function cookieOptions(c: Context, maxAgeSeconds: number) {
  return { path: CONSOLE_BASE, httpOnly: true, sameSite: "Strict" as const, secure: isHttps(c), maxAge: maxAgeSeconds };
}

/** Ends an action: back to `location` (a console path) with a one-line notice shown once. */
export function redirectWithNotice(c: ConsoleContext, location: string, notice: string): Response {
  const tool = c.get("view").tool;
  setCookie(c, noticeCookie(tool), encodeURIComponent(notice.slice(0, NOTICE_MAX)), cookieOptions(c, 60));
  return c.redirect(consolePath(location) ?? CONSOLE_BASE, 303);
}

async function readForm(c: Context): Promise<URLSearchParams> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const bytes = await readBodyWithin(c.req.raw, MAX_FORM_BYTES);
  if (bytes === undefined) throw new HttpError(413, `form larger than ${MAX_FORM_BYTES} bytes`);
  if (bytes.length === 0) return new URLSearchParams();
  if (type !== "application/x-www-form-urlencoded") throw new HttpError(400, "forms are sent as application/x-www-form-urlencoded");
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

export function consoleRoutes(options: ConsoleOptions): Hono<ConsoleEnv> {
  const { tool, log } = options;
  const now = options.now ?? Date.now;
  const lifetimeMs = options.sessionLifetimeMs ?? SESSION_LIFETIME_MS;
  const keys = sessionKeys(options.token, tool);
  const session = cookieName(tool);
  const home = options.nav[0]?.href ?? CONSOLE_BASE;
  const throttle = signInThrottle(options.signInThrottle ?? SIGN_IN_THROTTLE);

  const app = new Hono<ConsoleEnv>();
  app.use("*", securityHeaders);
  app.onError((error, c) => {
    if (isHttpProblem(error)) return renderProblem(c, tool, error);
    log?.error("Console request failed", { tool, method: c.req.method, path: c.req.path, error });
    return renderProblem(c, tool, new HttpError(500, "Internal Server Error"));
  });
  app.route("/", assetRoutes());

  app.get("/login", (c) => {
    if (decodeSession(keys, getCookie(c, session), now())) return c.redirect(home, 303);
    return c.html(<LoginPage tool={tool} next={consolePath(c.req.query(NEXT_FIELD))} />);
  });

  app.post("/login", async (c) => {
    const crossSite = crossSiteProblem(c);
    if (crossSite) throw new HttpError(403, `cross-site request refused (${crossSite})`);
    const form = await readForm(c);
    const operator = (form.get(OPERATOR_FIELD) ?? "").trim();
    const next = consolePath(form.get(NEXT_FIELD));
    const client = (c.env as ServerEnv | undefined)?.peer?.() ?? "unknown";
    const waitMs = throttle.retryAfterMs(client, now());
    if (waitMs > 0) {
      log?.warn("Console sign-in throttled", { tool, operator: operator.slice(0, 64), client });
      const minutes = Math.ceil(waitMs / 60_000);
      c.header("Retry-After", String(Math.ceil(waitMs / 1000)));
      return c.html(<LoginPage tool={tool} next={next} problem={`Too many wrong tokens from your address: try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`} />, 429);
    }
    // Compared even when the name is bad, so a refusal takes as long either way.
    const tokenOk = tokenMatches(options.token, form.get(TOKEN_FIELD) ?? "");
    const nameOk = OPERATOR_NAME.test(operator);
    if (!tokenOk) throttle.failed(client, now());
    if (!tokenOk || !nameOk) {
      log?.warn("Console sign-in refused", { tool, operator: operator.slice(0, 64), reason: tokenOk ? "name" : "token" });
      const problem = tokenOk ? "Give your name: letters, digits, spaces and . _ @ ' - (up to 64)." : "Wrong admin token.";
      return c.html(<LoginPage tool={tool} next={next} problem={problem} operator={nameOk ? operator : undefined} />, 401);
    }
    const fresh = newSession(operator, now(), lifetimeMs);
    setCookie(c, session, encodeSession(keys, fresh), cookieOptions(c, Math.floor(lifetimeMs / 1000)));
    log?.info("Console sign-in", { tool, operator });
    return c.redirect(next ?? home, 303);
  });

  // Everything below needs a session; a POST also the same origin and the session's CSRF token.
  app.use("*", async (c, next) => {
    const current = decodeSession(keys, getCookie(c, session), now());
    const reading = c.req.method === "GET" || c.req.method === "HEAD";
    if (!current) {
      if (reading) {
        const url = new URL(c.req.url);
        const back = consolePath(url.pathname + url.search);
        return c.redirect(back && back !== CONSOLE_BASE ? `${CONSOLE_BASE}/login?${NEXT_FIELD}=${encodeURIComponent(back)}` : `${CONSOLE_BASE}/login`, 303);
      }
      throw new HttpError(401, "Sign in to the console first");
    }
    const csrf = csrfToken(keys, current);
    c.set("operator", current.operator);
    c.set("csrf", csrf);
    c.set("audit", (action, fields) => log?.info(`Console: ${action}`, { tool, operator: current.operator, ...fields }));
    let notice: string | undefined;
    if (reading) {
      const flashed = getCookie(c, noticeCookie(tool));
      if (flashed !== undefined) {
        try {
          notice = decodeURIComponent(flashed).slice(0, NOTICE_MAX);
        } catch {
          notice = undefined;
        }
        deleteCookie(c, noticeCookie(tool), { path: CONSOLE_BASE });
      }
      c.set("form", new URLSearchParams());
    } else {
      const crossSite = crossSiteProblem(c);
      if (crossSite) throw new HttpError(403, `cross-site request refused (${crossSite})`);
      const form = await readForm(c);
      if (!csrfMatches(keys, current, form.get(CSRF_FIELD))) throw new HttpError(403, "Missing or invalid CSRF token");
      c.set("form", form);
    }
    c.set("view", { tool, nav: options.nav, operator: current.operator, csrf, path: c.req.path, notice });
    await next();
  });

  app.post("/logout", (c) => {
    deleteCookie(c, session, { path: CONSOLE_BASE, secure: isHttps(c), httpOnly: true, sameSite: "Strict" });
    log?.info("Console sign-out", { tool, operator: c.get("operator") });
    return c.redirect(`${CONSOLE_BASE}/login`, 303);
  });
  app.get("/", (c) => c.redirect(home, 303));
  options.pages(app);
  app.all("*", (c) => {
    throw new HttpError(404, `No console page ${c.req.path}`);
  });
  return app;
}
