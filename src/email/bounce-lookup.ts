// Coalesces the bounce lookups of concurrent /send requests: while `maxInFlight` queries are running,
// new requests queue up and then share one query (a lateral join over all their addresses). Under
// load this turns one query per request into one per batch; when idle a request waits for nobody.
import { coalesceCalls } from "../core/concurrency.ts";
import type { BounceLookup, BounceRecord } from "./delivery-problems.ts";

export type BounceFetch = (addresses: readonly string[], since: number) => Promise<Map<string, BounceRecord[]>>;

export function coalescedBounceLookup(fetch: BounceFetch, options: { maxInFlight: number; maxBatch: number }): BounceLookup {
  // A free query slot takes the oldest requests, up to maxBatch addresses (a larger request goes alone).
  const lookup = coalesceCalls<{ addresses: readonly string[]; since: number }, Map<string, BounceRecord[]>>(
    async (requests) => {
      const addresses = [...new Set(requests.flatMap((r) => r.addresses))];
      // The oldest cut-off of the batch: older rows cannot matter to anyone (see checkRecipients).
      const found = await fetch(addresses, Math.min(...requests.map((r) => r.since)));
      return requests.map((r) => new Map(r.addresses.map((a) => [a, found.get(a) ?? []])));
    },
    { ...options, weight: (r) => r.addresses.length },
  );
  return (addresses, since) => lookup({ addresses, since });
}
