// The two-stage stop every tool shares, with a bound.
//
// Invariant: once a stop is asked for, the process is gone within `boundMs`. The first SIGTERM/SIGINT
// aborts `signal` (take no new work, finish what is in flight). At two thirds of the bound `abandon` is
// aborted: work still in flight is cancelled, and since every tool's work is redone on a later run
// (a queue message that is not deleted comes back, a purge row that is not deleted is found again),
// cancelling loses nothing. At the bound, or on a second signal, `exitNow` is called.

export type StopSignalName = "SIGTERM" | "SIGINT";

export interface StopControl {
  /** Aborted by the first signal or by `request`. */
  readonly signal: AbortSignal;
  /** Aborted when two thirds of the stop bound have passed since the stop began. */
  readonly abandon: AbortSignal;
  /** Begins a stop from inside the tool (a time limit, say); the bound applies from now. */
  request(reason: string): void;
  /** Stops listening for signals and cancels the timers (the tool has finished). */
  dispose(): void;
}

export interface StopOptions {
  boundMs: number;
  onSignal(listener: (name: StopSignalName) => void): () => void;
  /** Told of each stage, for the log line. */
  onStage?(stage: "stopping" | "abandoning" | "deadline" | "second-signal", detail: string): void;
  /** Ends the process: 130/143 on a second signal (as shells report a signal), 1 at the deadline. */
  exitNow(code: number): void;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  // The timer must not keep a finished process alive.
  (t as { unref?: () => void }).unref?.();
  return { cancel: () => clearTimeout(t) };
};

export function createStopControl(options: StopOptions): StopControl {
  const setTimer = options.setTimer ?? defaultTimer;
  const stop = new AbortController();
  const abandon = new AbortController();
  const timers: { cancel(): void }[] = [];
  let disposed = false;

  const begin = (reason: string) => {
    if (stop.signal.aborted || disposed) return;
    options.onStage?.("stopping", reason);
    stop.abort(new Error(reason));
    timers.push(
      setTimer(() => {
        options.onStage?.("abandoning", `${Math.round((options.boundMs * 2) / 3)} ms into the stop`);
        abandon.abort(new Error("stop bound nearly reached"));
      }, (options.boundMs * 2) / 3),
      setTimer(() => {
        options.onStage?.("deadline", `still running ${options.boundMs} ms after the stop began`);
        options.exitNow(1);
      }, options.boundMs),
    );
  };

  const unsubscribe = options.onSignal((name) => {
    if (stop.signal.aborted) {
      options.onStage?.("second-signal", name);
      options.exitNow(name === "SIGINT" ? 130 : 143);
      return;
    }
    begin(`received ${name}`);
  });

  return {
    signal: stop.signal,
    abandon: abandon.signal,
    request: begin,
    dispose() {
      disposed = true;
      unsubscribe();
      for (const t of timers) t.cancel();
    },
  };
}
