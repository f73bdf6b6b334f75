// The one place where failures become responses: every thrown error (and every unmatched route) is
// rendered as a JSON problem with its status, then reported once through `onProblem` for logging.
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HttpError, isHttpProblem, type HttpProblem } from "./problem.ts";

export interface ErrorFunnelOptions {
  /** Turns anything that is not already a problem (a bug, a driver error) into the tool's 500. */
  internal: (error: unknown) => HttpProblem;
  /** Called once per problem response, with the original error when there was one. */
  onProblem?: (problem: HttpProblem, c: Context, cause: unknown) => void;
}

export function problemResponse(problem: HttpProblem): Response {
  return new Response(JSON.stringify(problem.toJSON()), { status: problem.status, headers: { ...problem.headers, "content-type": "application/json" } });
}

export function errorFunnel(options: ErrorFunnelOptions): { onError: ErrorHandler; notFound: NotFoundHandler } {
  const render = (problem: HttpProblem, c: Context, cause: unknown) => {
    options.onProblem?.(problem, c, cause);
    return problemResponse(problem);
  };
  return {
    onError: function onError(error, c) {
      return render(isHttpProblem(error) ? error : options.internal(error), c, error);
    },
    notFound: function notFound(c) {
      const problem = new HttpError(404, `No route for ${c.req.method} ${c.req.path}`);
      return render(problem, c, problem);
    },
  };
}
