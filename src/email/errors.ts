// The email service's error vocabulary (spec/email.md §3.2). Every non-2xx JSON response is one of
// these, rendered as {code, error, errno, message, ...extra fields in alphabetical order}.
import { reasonPhrase } from "../http/reason-phrase.ts";

export type EmailErrorKind =
  | "Internal" // 500 / 100
  | "NotImplemented" // 500 / 101
  | "InvalidPayload" // 400 / 102
  | "InvalidNotification" // 500 / 103
  | "QueueError" // 500 / 104
  | "InvalidDuration" // 500 / 105
  | "Complaint" // 429 / 106
  | "SoftBounce" // 429 / 107
  | "HardBounce" // 429 / 108
  | "InvalidEnv" // 500 / 109
  | "InvalidLogLevel" // 500 / 110
  | "InvalidLogFormat" // 500 / 111
  | "SendRateLimited"; // 429 / 112: a caller's send-rate limit (not a bounce: 106-108 stay the bounce answers)

const TABLE: Record<EmailErrorKind, { status: number; errno: number; prefix?: string; fixed?: string }> = {
  Internal: { status: 500, errno: 100 },
  NotImplemented: { status: 500, errno: 101, prefix: "Not implemented: " },
  InvalidPayload: { status: 400, errno: 102, prefix: "Invalid payload: " },
  InvalidNotification: { status: 500, errno: 103, prefix: "Invalid notification: " },
  QueueError: { status: 500, errno: 104 },
  InvalidDuration: { status: 500, errno: 105, prefix: "Invalid duration: " },
  Complaint: { status: 429, errno: 106, fixed: "Complaint limit violated" },
  SoftBounce: { status: 429, errno: 107, fixed: "Soft-bounce limit violated" },
  HardBounce: { status: 429, errno: 108, fixed: "Hard-bounce limit violated" },
  InvalidEnv: { status: 500, errno: 109, prefix: "Invalid environment: " },
  InvalidLogLevel: { status: 500, errno: 110, prefix: "Invalid log level: " },
  InvalidLogFormat: { status: 500, errno: 111, prefix: "Invalid log format: " },
  SendRateLimited: { status: 429, errno: 112, prefix: "Send-rate limit violated: " },
};

export class EmailError extends Error {
  override name = "EmailError";
  readonly status: number;
  readonly errno: number;
  constructor(
    readonly kind: EmailErrorKind,
    /** The kind's detail (e.g. the payload problem); ignored by the fixed-message kinds. */
    detail = "",
    /** Extra response fields (the 429 kinds: address, problem, time). */
    readonly extra: Record<string, unknown> = {},
    /** `headers`: response headers (Retry-After of a rate refusal). */
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    const row = TABLE[kind];
    super(row.fixed ?? `${row.prefix ?? ""}${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = row.status;
    this.errno = row.errno;
    if (options?.headers) this.headers = options.headers;
  }

  readonly headers?: Record<string, string>;

  /** The JSON body, keys in the original's order: code, error, errno, message, then extras sorted. */
  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { code: this.status, error: reasonPhrase(this.status), errno: this.errno, message: this.message };
    for (const key of Object.keys(this.extra).sort()) body[key] = this.extra[key];
    return body;
  }
}

export const invalidPayload = (detail: string) => new EmailError("InvalidPayload", detail);
export const internalError = (detail: string, cause?: unknown) => new EmailError("Internal", detail, {}, { cause });
