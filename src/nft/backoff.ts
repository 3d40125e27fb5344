// How long to wait before trying again: exponential, capped, with jitter so that many agents recovering from
// the same cause (an API outage, a kernel hiccup) do not retry in lockstep.

export interface BackoffPolicy {
  /** Delay after the first failure. */
  readonly initialDelayMs: number;
  /** No delay is longer than this, jitter included. */
  readonly maxDelayMs: number;
}

/**
 * The delay after the `failures`-th consecutive failure (1 for the first): initial * 2^(failures-1), capped,
 * then scaled into its upper half by `random` (a number in [0, 1)), so it never collapses to zero.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
