// Coalescing: while `maxInFlight` calls of `run` are going, new inputs wait and then go together in the
// next call (at most `maxBatch`). Idle, an input waits for nobody (one microtask); under load one
// statement serves many notifications, which is where the database time goes otherwise (one write and
// one round trip per statement). A failed call fails every input it carried.

export interface CoalesceOptions {
  maxInFlight: number;
  maxBatch: number;
}

interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/** `run` answers one output per input, in order. */
export function coalesce<I, O>(run: (inputs: I[]) => Promise<O[]>, options: CoalesceOptions): (input: I) => Promise<O> {
  const queue: Waiting<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const runBatch = async (batch: Waiting<I, O>[]) => {
    try {
      const outputs = await run(batch.map((w) => w.input));
      batch.forEach((w, i) => w.resolve(outputs[i]!));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  };

  const pump = () => {
    scheduled = false;
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      inFlight += 1;
      void runBatch(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(pump);
      }
    });
}
