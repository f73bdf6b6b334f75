// Waiting on an AbortSignal as a promise (a server runs until the stop signal).

/** Resolves when `signal` aborts (at once if it already has); never rejects. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
}
