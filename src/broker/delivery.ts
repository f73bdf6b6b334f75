// The delivery workers: the outbox → signed SETs → relying parties' webhooks (spec/event-broker.md §5.2
// "Port design", which replaces Pub/Sub's push and retries).
//
// Contract:
// - a due row is claimed with FOR UPDATE SKIP LOCKED under a lease (claimDue), so any number of workers
//   and processes share the outbox; a worker that dies only lets its lease run out (at least once);
// - 2xx → delivered; no webhook for the client → delivered and counted (proxy.webhookNotFound), as the
//   newest original does; an event that has no SET → dead at once;
// - anything else is retried with exponential backoff and jitter (the first retry within 10 s, at most
//   10 minutes apart) until DELIVERY_MAX_AGE after the row was written → dead;
// - an endpoint failing repeatedly is backed off as a whole (./endpoint-health.ts);
// - every attempt is recorded with its status, latency and error; the jti is the row's, the same on every try.
import { sleep } from "../core/backoff.ts";
import type { Sql } from "../db/client.ts";
import { EndpointHealth, type HealthPolicy } from "./endpoint-health.ts";
import { groupWriter } from "./group-writer.ts";
import { claimDue, deferClient, recordResults, releaseClaims, releaseClient, type DeliveryResult, type DeliveryRow } from "./queries.ts";
import { signSet, type SetSenderDeps } from "./set.ts";
import { callWebhook, isDelivered, rfc8935Error, WebhookError } from "./webhook-call.ts";
import { webhookUrlProblem } from "./webhook-url.ts";

export interface DeliveryDeps extends SetSenderDeps {
  sql: Sql;
  random?: () => number;
  fetch?: typeof fetch;
}

export interface DeliveryOptions {
  /** Deliveries in flight at once. */
  concurrency: number;
  timeoutMs: number;
  maxAgeMs: number;
  allowInsecureWebhooks: boolean;
  /** How often to look for due rows when nothing woke the workers. */
  pollMs: number;
  maxBodyBytes?: number;
  health?: HealthPolicy;
  signal: AbortSignal;
  /** Cancels calls in flight (the stop's abandon). */
  abandon?: AbortSignal;
}

export interface DeliveryWorkers {
  /** Look for due rows now (new fan-out, a replay, a clock moved by a test). */
  wake(): void;
  /** Resolves when stopped and every result is recorded. */
  readonly done: Promise<void>;
  readonly health: EndpointHealth;
  readonly counts: Record<"delivered" | "failed" | "dead" | "deferred" | "notFound", number>;
}

const FIRST_RETRY_MS = 10_000;
const MAX_RETRY_MS = 600_000;
const CLAIM_BATCH = 100;
const PROBE_WAIT_MS = 1_000;

/** Exponential with "equal jitter": between half and all of min(10 min, 10 s·2^(n−1)), n = attempts so far. */
export function retryDelay(attempts: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The lease outlives the call's timeout with room for recording the result. */
export const leaseMs = (timeoutMs: number) => 2 * timeoutMs + 5_000;

export function startDeliveryWorkers(deps: DeliveryDeps, options: DeliveryOptions): DeliveryWorkers {
  const { sql, log, metrics, clock } = deps;
  const random = deps.random ?? Math.random;
  const health = new EndpointHealth(options.health);
  const counts = { delivered: 0, failed: 0, dead: 0, deferred: 0, notFound: 0 };
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const writer = groupWriter<DeliveryResult>((results) => recordResults(sql, results));
  const inFlight = new Set<Promise<void>>();
  let wakeUp: (() => void) | undefined;
  let woken = false;

  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  options.signal.addEventListener("abort", wake, { once: true });

  const waitForWake = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || options.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  const failure = (row: DeliveryRow, now: number, httpStatus: number | null, error: string, latencyMs: number): DeliveryResult => {
    counts.failed += 1;
    const deadline = row.created_at.getTime() + options.maxAgeMs;
    const base = { id: row.id, attemptedAt: new Date(now), httpStatus, latencyMs, error };
    if (now >= deadline) {
      counts.dead += 1;
      metrics.incr("delivery.dead", 1, { clientId: row.client_id });
      log.warn("Delivery dead after its maximum age", { id: String(row.id), clientId: row.client_id, attempts: row.attempts + 1, error });
      return { ...base, outcome: "dead", nextAt: null };
    }
    return { ...base, outcome: "retry", nextAt: new Date(Math.min(now + retryDelay(row.attempts + 1, random), deadline)) };
  };

  const endpointFailed = async (clientId: string, now: number) => {
    const until = health.failed(clientId, now);
    if (until === undefined) return;
    log.warn("Endpoint backed off after repeated failures", { clientId, until: new Date(until).toISOString() });
    metrics.incr("delivery.endpointBackedOff", 1, { clientId });
    await deferClient(sql, clientId, new Date(until), new Date(now));
  };

  /** undefined: nothing to record (the call was cut by the stop). */
  const attempt = async (row: DeliveryRow): Promise<DeliveryResult | undefined> => {
    const now = clock();
    const client = deps.clients.get(row.client_id);
    const type = row.event;
    if (!client) {
      counts.notFound += 1;
      counts.delivered += 1;
      metrics.incr("proxy.webhookNotFound", 1, { clientId: row.client_id });
      log.debug("proxyDelivery", { message: "webhook for clientId not found", clientId: row.client_id });
      return { id: row.id, outcome: "delivered", attemptedAt: new Date(now), httpStatus: null, latencyMs: 0, error: "webhook not found", nextAt: null };
    }
    const admission = health.admit(row.client_id, now, PROBE_WAIT_MS);
    if (!admission.go) {
      counts.deferred += 1;
      return { id: row.id, outcome: "deferred", attemptedAt: new Date(now), httpStatus: null, latencyMs: 0, error: null, nextAt: new Date(admission.until) };
    }
    let token: string;
    try {
      token = await signSet(deps.key, { clientId: row.client_id, json: row.payload, issuedAtMs: now, jti: row.jti, issuer: deps.issuer });
    } catch (error) {
      if (admission.probe) health.succeeded(row.client_id); // nothing was learnt about the endpoint
      counts.dead += 1;
      log.error("proxyDelivery", { message: "No SET for this event", id: String(row.id), error: (error as Error).message });
      return { id: row.id, outcome: "dead", attemptedAt: new Date(now), httpStatus: null, latencyMs: 0, error: (error as Error).message, nextAt: null };
    }
    const refused = webhookUrlProblem(client.webhookUrl, options.allowInsecureWebhooks);
    if (refused) return failure(row, now, null, `webhook URL refused: ${refused}`, 0);
    const started = performance.now();
    try {
      const answer = await callWebhook({
        url: client.webhookUrl,
        token,
        format: client.format,
        timeoutMs: options.timeoutMs,
        maxBodyBytes,
        signal: options.abandon,
        fetch: deps.fetch,
      });
      const latencyMs = performance.now() - started;
      const done = clock();
      const queueDelay = done - Number(row.payload.timestamp);
      metrics.timing("proxy.queueDelay", queueDelay);
      if (isDelivered(answer.status)) {
        counts.delivered += 1;
        metrics.timing("proxy.success", queueDelay, { clientId: row.client_id, statusCode: String(answer.status), type });
        if (type === "subscription:update") metrics.timing("proxy.sub.eventDelay", done - Number(row.payload.changeTime));
        if (health.succeeded(row.client_id)) {
          log.info("Endpoint answers again", { clientId: row.client_id });
          await releaseClient(sql, row.client_id, new Date(done));
        }
        return { id: row.id, outcome: "delivered", attemptedAt: new Date(now), httpStatus: answer.status, latencyMs, error: null, nextAt: null };
      }
      metrics.incr("proxy.fail", 1, { clientId: row.client_id, statusCode: String(answer.status), type });
      const rfcError = client.format === "rfc8935" ? rfc8935Error(answer.body) : undefined;
      const error = rfcError ? `${rfcError.err}${rfcError.description ? `: ${rfcError.description}` : ""}` : `HTTP ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ""}`;
      log.debug("proxyDeliverFail", { statusCode: answer.status, clientId: row.client_id, message: "failed to proxy message", error });
      await endpointFailed(row.client_id, done);
      return failure(row, now, answer.status, error, latencyMs);
    } catch (error) {
      // Cut by the stop: not the endpoint's fault; the row is tried again when its lease runs out.
      if (options.abandon?.aborted) return undefined;
      const latencyMs = performance.now() - started;
      const message = error instanceof WebhookError ? `${error.kind}: ${error.message}` : (error as Error).message;
      log.warn("proxyDeliverError", { clientId: row.client_id, error: message });
      metrics.incr("proxy.error", 1, { clientId: row.client_id, type });
      await endpointFailed(row.client_id, clock());
      return failure(row, now, null, message, latencyMs);
    }
  };

  const deliver = async (row: DeliveryRow) => {
    let result: DeliveryResult | undefined;
    try {
      result = await attempt(row);
      if (!result) return;
    } catch (error) {
      // A database error while backing off an endpoint: the lease runs out and the row is tried again.
      log.error("Delivery failed unexpectedly; the row will be tried again after its lease", { id: String(row.id), error: (error as Error).message });
      return;
    }
    try {
      await writer.add(result);
    } catch (error) {
      log.error("Could not record delivery results; they will be tried again after their lease", { error: (error as Error).message });
    }
  };

  // Claimed rows wait in `ready` for a free slot: claims are made in batches (one statement for many
  // deliveries) when fewer than half the slots' worth is ready, not one per finished delivery.
  const ready: DeliveryRow[] = [];
  const lowWater = Math.max(1, Math.floor(options.concurrency / 2));
  const claimSize = Math.min(CLAIM_BATCH, options.concurrency * 2);
  const startReady = () => {
    while (ready.length > 0 && inFlight.size < options.concurrency) {
      const running = deliver(ready.shift()!).finally(() => {
        inFlight.delete(running);
        wake();
      });
      inFlight.add(running);
    }
  };

  const loop = async () => {
    let claimFailures = 0;
    while (!options.signal.aborted) {
      woken = false;
      startReady();
      if (ready.length >= lowWater) {
        await waitForWake(options.pollMs);
        continue;
      }
      let rows: DeliveryRow[];
      const now = clock();
      try {
        const backedOff = health.open(now).map((e) => e.clientId);
        rows = await claimDue(sql, new Date(now), new Date(now + leaseMs(options.timeoutMs)), claimSize - ready.length, backedOff);
        claimFailures = 0;
      } catch (error) {
        claimFailures += 1;
        log.warn("Could not claim deliveries; backing off", { error: (error as Error).message });
        await sleep(Math.min(30_000, 200 * 2 ** Math.min(claimFailures, 8)), options.signal);
        continue;
      }
      ready.push(...rows);
      startReady();
      if (rows.length === 0) await waitForWake(options.pollMs);
    }
    // Stopping: what was claimed but not started goes back at once rather than when its lease ends.
    if (ready.length > 0) {
      try {
        await releaseClaims(sql, ready.splice(0).map((r) => r.id));
      } catch (error) {
        log.warn("Could not release claimed deliveries; they are due again when their lease ends", { error: (error as Error).message });
      }
    }
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    await writer.idle();
  };

  return { wake, done: loop(), health, counts };
}
