// Graceful shutdown: the first SIGTERM/SIGINT aborts `signal` so loops stop taking new work and finish
// what is in flight; a second signal exits at once.

export interface Shutdown {
  readonly signal: AbortSignal;
  /** Stops listening for signals (call once the tool has finished). */
  dispose(): void;
}

export function handleShutdownSignals(onFirst?: (signal: string) => void): Shutdown {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    onFirst?.(signal);
    controller.abort(new Error(`received ${signal}`));
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGTERM", handler);
      process.off("SIGINT", handler);
    },
  };
}
