// Plain-HTTP access to a tool's operator console, for the security tests: sign in as an operator, keep
// the session cookie, read the CSRF token off a page, post forms. `fetch` is an app's `request` (in
// process) or a server's base URL.
export type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

export function appFetcher(app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> }): Fetcher {
  return async (path, init) => await app.request(`http://localhost${path}`, init);
}

export interface ConsoleClient {
  /** The Cookie header of the session ("" before signing in). */
  cookie: string;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** A form POST with the session cookie; `csrf` is added unless given (null leaves it out). */
  post(path: string, fields: Record<string, string>, options?: { csrf?: string | null; headers?: Record<string, string> }): Promise<Response>;
  /** The session's CSRF token, read off a page. */
  csrf(): Promise<string>;
}

/** A form body, and the header that says so. */
export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
export const FORM = { "content-type": "application/x-www-form-urlencoded" };

export function csrfIn(html: string): string | undefined {
  return /name="csrf" value="([^"]+)"/.exec(html)?.[1];
}

/** Signs in (expects the 303 and a session cookie) and returns a client carrying the cookie. */
export async function signIn(fetch: Fetcher, token: string, operator = "Alice Operator", home = "/console"): Promise<ConsoleClient> {
  const response = await fetch("/console/login", { method: "POST", headers: FORM, body: form({ operator, token }) });
  if (response.status !== 303) throw new Error(`sign-in answered ${response.status}: ${await response.text()}`);
  const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]!).join("; ");
  if (!cookie) throw new Error("sign-in set no cookie");
  return clientWith(fetch, cookie, home);
}

export function clientWith(fetch: Fetcher, cookie: string, home = "/console"): ConsoleClient {
  const client: ConsoleClient = {
    cookie,
    get: (path, headers = {}) => fetch(path, { headers: { cookie, accept: "text/html", ...headers }, redirect: "manual" }),
    async post(path, fields, options = {}) {
      const csrf = options.csrf === undefined ? await client.csrf() : options.csrf;
      const body = csrf === null ? fields : { ...fields, csrf };
      return await fetch(path, { method: "POST", headers: { ...FORM, cookie, accept: "text/html", ...options.headers }, body: form(body), redirect: "manual" });
    },
    async csrf() {
      let response = await client.get(home);
      while (response.status === 303) response = await client.get(response.headers.get("location")!);
      const token = csrfIn(await response.text());
      if (!token) throw new Error(`no CSRF token on ${home}`);
      return token;
    },
  };
  return client;
}
