// Turns one database round trip per request into one per batch: calls made in the same turn of the
// event loop (and those that arrive while `maxInFlight` batches are running) go out together, in
// arrival order. The same pattern as bounce-lookup.ts, for any call whose batch answers each item.
// (src/core/concurrency.ts is getting a general per-tick batcher; this one can give way to it.)

/** Answers a batch: one result per item, in the items' order (a rejection fails the whole batch). */
export type BatchCall<I, O> = (items: readonly I[]) => Promise<readonly O[]>;

export function tickBatched<I, O>(call: BatchCall<I, O>, options: { maxInFlight: number; maxBatch: number }): (item: I) => Promise<O> {
  const queue: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  let inFlight = 0;
  let scheduled = false;

  const pump = () => {
    scheduled = false;
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      inFlight += 1;
      void call(batch.map((w) => w.item))
        .then(
          (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
          (error) => batch.forEach((w) => w.reject(error)),
        )
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(pump);
      }
    });
}
