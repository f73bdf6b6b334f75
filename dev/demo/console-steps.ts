// The operator consoles chapter: each HTTP tool of the stack serves /console behind its admin token; an
// operator signs in (the session cookie's flags checked) and the first page answers, naming the tool.
import { CheckFailed, check, type DemoContext } from "./context.ts";
import type { DemoStep } from "./step.ts";

/** Signs in to one console and reads its first page; returns what was seen. */
async function signIn(name: string, consoleUrl: string, token: string): Promise<string> {
  const login = await fetch(`${consoleUrl}/login`, {
    method: "POST",
    body: new URLSearchParams({ operator: "Demo Operator", token }),
    redirect: "manual",
  });
  check(login.status === 303, `${name}: signing in answers 303 (got ${login.status})`);
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith("console_"));
  if (!cookie) throw new CheckFailed(`${name}: signing in sets a session cookie (none set)`);
  check(/HttpOnly/i.test(cookie) && /SameSite=Strict/i.test(cookie), `${name}: the session cookie is HttpOnly and SameSite=Strict (${cookie.split(";").slice(1).join(";")})`);
  const first = await fetch(new URL(login.headers.get("location")!, consoleUrl), { headers: { cookie: cookie.split(";")[0]! } });
  const html = await first.text();
  check(first.status === 200 && html.includes(name), `${name}: the first console page answers 200 naming the tool (got ${first.status})`);
  const title = /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? "?";
  return `${name} "${title}"`;
}

export const CONSOLE_STEPS: DemoStep[] = [
  {
    chapter: "console",
    title: "each HTTP tool's operator console: sign in with its admin token, see its first page",
    async run(ctx: DemoContext) {
      const consoles = Object.entries(ctx.state.tools).filter(([, info]) => info.console && info.consoleToken);
      check(consoles.length === 3, `three consoles in the stack (email-send, event-broker, account-config), got ${consoles.map(([n]) => n).join(", ") || "none"}`);
      const seen: string[] = [];
      for (const [name, info] of consoles) seen.push(await signIn(name, info.console!, info.consoleToken!));
      return `signed in to ${seen.join(", ")}; sessions are HttpOnly SameSite=Strict cookies`;
    },
  },
];
