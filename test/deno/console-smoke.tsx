/** @jsxImportSource hono/jsx */
// Deno smoke test (run by .ci/run with `deno run -A`): the console core's JSX renders under Deno as under
// Bun: sign in, a page in the layout with escaped data, a POST refused without its CSRF token.
import { Hono } from "hono";
import { page } from "../../src/console/layout.tsx";
import { consoleRoutes } from "../../src/console/routes.tsx";
import { Time } from "../../src/console/time.tsx";

const TOKEN = "deno-console-token-0123456789";
const app = new Hono().route(
  "/console",
  consoleRoutes({
    tool: "deno-smoke",
    token: TOKEN,
    nav: [{ href: "/console/page", label: "Page" }],
    pages: (a) => {
      a.get("/page", (c) => page(c, "Smoke", <p>{"<script>"}<Time at={0} /></p>));
      a.post("/page", (c) => c.text("done"));
    },
  }),
);
const failures: string[] = [];
const login = await app.request("http://x/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `operator=deno&token=${TOKEN}` });
const cookie = login.headers.get("set-cookie")?.split(";")[0] ?? "";
if (login.status !== 303 || !cookie) failures.push(`sign-in answered ${login.status}`);
const html = await (await app.request("http://x/console/page", { headers: { cookie } })).text();
if (!html.startsWith("<!DOCTYPE html>") || !html.includes("&lt;script&gt;") || !html.includes('<time datetime="1970-01-01T00:00:00.000Z"')) failures.push(`page rendered as ${html.slice(0, 200)}`);
const refused = await app.request("http://x/console/page", { method: "POST", headers: { cookie, "content-type": "application/x-www-form-urlencoded" }, body: "csrf=wrong" });
if (refused.status !== 403) failures.push(`POST without its CSRF token answered ${refused.status}`);
if (failures.length > 0) {
  console.error(`FAIL: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("ok: console core renders under Deno");
