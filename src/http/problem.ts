// What the error funnel renders: anything with an HTTP status and a JSON body. Domain errors (the
// email service's EmailError) fit this shape as they are; HttpError covers routing-level refusals.
import { reasonPhrase } from "./reason-phrase.ts";

export interface HttpProblem {
  readonly status: number;
  readonly message: string;
  /** Extra response headers (e.g. Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
  toJSON(): Record<string, unknown>;
}

export function isHttpProblem(value: unknown): value is HttpProblem {
  const candidate = value as Partial<HttpProblem> | null;
  return typeof candidate?.status === "number" && typeof candidate.toJSON === "function";
}

/** errno for refusals that have no number in a tool's own table (unknown route, missing credentials). */
export const GENERIC_ERRNO = 999;

/** A refusal rendered as {code, error, errno, message}. */
export class HttpError extends Error implements HttpProblem {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly errno = GENERIC_ERRNO,
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.status, error: reasonPhrase(this.status), errno: this.errno, message: this.message };
  }
}
