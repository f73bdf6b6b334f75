// What a call threw, checked to be of the expected kind (a test fails when nothing was thrown).
import { expect } from "bun:test";
import { UsageError } from "../../src/core/errors.ts";

export function thrownBy<E extends Error>(kind: abstract new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(kind);
    return error as E;
  }
  throw new Error(`expected a ${kind.name}`);
}

/** The message of the UsageError `fn` throws. */
export const usageError = (fn: () => unknown): string => thrownBy(UsageError, fn).message;
