// The error vocabulary shared by every tool. Each kind says what the caller should do with the failure.

export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad command line or configuration value: the operator must fix it (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * An expected failure of the setup that the operator fixes (a missing schema, a database that never
 * answered): reported as one line naming the problem and the fix, without a stack trace (exit 1).
 */
export class SetupError extends Error {
  override name = "SetupError";
}

/** A failure that should go away on its own (database down, timeout): retry later, lose nothing. */
export class TransientError extends Error {
  override name = "TransientError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Input that can never be processed (a malformed queue message, a bad request body). */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
}
