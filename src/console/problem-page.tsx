/** @jsxImportSource hono/jsx */
// A refusal shown to a person (the request accepts HTML); API-style callers get our JSON error shape.
import type { Context } from "hono";
import { problemResponse } from "../http/error-funnel.ts";
import type { HttpProblem } from "../http/problem.ts";
import { reasonPhrase } from "../http/reason-phrase.ts";
import { CONSOLE_BASE } from "./context.ts";
import { Document } from "./layout.tsx";

export function wantsHtml(c: Context): boolean {
  return (c.req.header("accept") ?? "").includes("text/html");
}

export async function renderProblem(c: Context, tool: string, problem: HttpProblem): Promise<Response> {
  if (!wantsHtml(c)) return problemResponse(problem);
  const title = `${problem.status} ${reasonPhrase(problem.status)}`;
  const body = (
    <Document title={title} tool={tool}>
      <main>
        <h1>{title}</h1>
        <p class="problem" role="alert">
          {problem.message}
        </p>
        <p>
          <a href={CONSOLE_BASE}>Back to the console</a>
        </p>
      </main>
    </Document>
  );
  const response = await c.html(body, problem.status as 400);
  for (const [k, v] of Object.entries(problem.headers ?? {})) response.headers.set(k, v);
  return response;
}
