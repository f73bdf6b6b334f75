// Per-endpoint health (beyond the original): after `threshold` failures in a row an endpoint is backed off
// as a whole, so one dead relying party neither holds the workers nor burns its other deliveries'
// attempts. When the back-off ends one delivery probes it; a success closes the breaker, a failure
// doubles the back-off (up to `capMs`). Held per process: each broker learns an endpoint's health itself.

export interface HealthPolicy {
  threshold: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_HEALTH: HealthPolicy = { threshold: 3, baseMs: 5_000, capMs: 300_000 };

interface State {
  failures: number;
  /** How many times the breaker opened in a row: the back-off's exponent. */
  opens: number;
  openUntil: number;
  probing: boolean;
}

export type Admission = { go: true; probe: boolean } | { go: false; until: number };

export class EndpointHealth {
  readonly #states = new Map<string, State>();
  constructor(readonly policy: HealthPolicy = DEFAULT_HEALTH) {}

  /** May a delivery to `clientId` be tried now? Only one probe at a time once the breaker is open. */
  admit(clientId: string, now: number, probeWaitMs: number): Admission {
    const state = this.#states.get(clientId);
    if (!state || state.failures < this.policy.threshold) return { go: true, probe: false };
    if (now < state.openUntil) return { go: false, until: state.openUntil };
    if (state.probing) return { go: false, until: now + probeWaitMs };
    state.probing = true;
    return { go: true, probe: true };
  }

  /** Returns true when this success closed an open breaker (the deliveries that waited are due now). */
  succeeded(clientId: string): boolean {
    const state = this.#states.get(clientId);
    this.#states.delete(clientId);
    return state !== undefined && state.failures >= this.policy.threshold;
  }

  /**
   * Returns the time the endpoint is backed off until, when this failure (re)opened the breaker. Calls
   * that were already in flight when it opened only count: they neither reopen it nor lengthen it.
   */
  failed(clientId: string, now: number): number | undefined {
    const state = this.#states.get(clientId) ?? { failures: 0, opens: 0, openUntil: 0, probing: false };
    const wasProbe = state.probing;
    state.failures += 1;
    state.probing = false;
    this.#states.set(clientId, state);
    if (state.failures < this.policy.threshold) return undefined;
    if (!wasProbe && state.openUntil > now) return undefined;
    state.opens += 1;
    state.openUntil = now + Math.min(this.policy.capMs, this.policy.baseMs * 2 ** Math.min(state.opens - 1, 20));
    return state.openUntil;
  }

  /** Endpoints backed off now, for stats. */
  open(now: number): { clientId: string; failures: number; until: number }[] {
    return [...this.#states]
      .filter(([, s]) => s.failures >= this.policy.threshold && s.openUntil > now)
      .map(([clientId, s]) => ({ clientId, failures: s.failures, until: s.openUntil }));
  }
}
