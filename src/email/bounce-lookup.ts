// Coalesces the bounce lookups of concurrent /send requests: while `maxInFlight` queries are running,
// new requests queue up and then share one query (a lateral join over all their addresses). Under
// load this turns one query per request into one per batch; when idle a request waits for nobody.
import { createWorkQueue } from "../core/concurrency.ts";
import type { BounceLookup, BounceRecord } from "./delivery-problems.ts";

export type BounceFetch = (addresses: readonly string[], since: number) => Promise<Map<string, BounceRecord[]>>;

interface Waiting {
  addresses: readonly string[];
  since: number;
  resolve: (records: Map<string, BounceRecord[]>) => void;
  reject: (error: unknown) => void;
}

export function coalescedBounceLookup(fetch: BounceFetch, options: { maxInFlight: number; maxBatch: number }): BounceLookup {
  // A free query slot takes the oldest requests, up to maxBatch addresses (a larger request goes alone).
  const queue = createWorkQueue<Waiting>({
    concurrency: options.maxInFlight,
    maxBatch: options.maxBatch,
    weight: (w) => w.addresses.length,
    run: async (batch) => {
      const addresses = [...new Set(batch.flatMap((w) => w.addresses))];
      // The oldest cut-off of the batch: older rows cannot matter to anyone (see checkRecipients).
      const since = Math.min(...batch.map((w) => w.since));
      try {
        const found = await fetch(addresses, since);
        for (const w of batch) w.resolve(new Map(w.addresses.map((a) => [a, found.get(a) ?? []])));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    },
  });
  let scheduled = false;
  const pump = () => {
    scheduled = false;
    queue.pump();
  };

  return (addresses, since) =>
    new Promise((resolve, reject) => {
      queue.push({ addresses, since, resolve, reject });
      // Requests parsed in the same turn of the event loop go out together.
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(pump);
      }
    });
}
