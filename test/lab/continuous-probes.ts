// Probes that keep running while something happens to the cluster (an agent killed, the API server gone, nft
// failing): every interval, one probe per pair, each on its own (a denied probe's timeout does not hold up the
// next). A pair is either allowed (every probe must connect) or denied (no probe may get an answer: a connection
// or even a refusal means packets went through). What breaks the expectation is kept with when it happened and
// the phase the test was in, so that a failure says which fault opened the window.
import type { Lab, Outcome, Place, Proto } from './lab.js';

export interface ProbePair {
  readonly name: string;
  readonly from: Place;
  readonly toIP: string;
  readonly port: number;
  readonly proto: Proto;
  readonly expect: 'allowed' | 'denied';
}

export interface Violation {
  readonly pair: string;
  readonly outcome: Outcome | 'error';
  /** Milliseconds after the probes started, when the probe was sent. */
  readonly atMs: number;
  readonly phase: string;
  readonly detail?: string;
}

export interface ProbeRun {
  readonly pairs: readonly ProbePair[];
  /** Probes sent, per pair. */
  readonly sent: Readonly<Record<string, number>>;
  readonly violations: readonly Violation[];
  readonly durationMs: number;
}

export interface ContinuousProbes {
  /** Names what happens from now on, for the violations' `phase`. */
  phase(name: string): void;
  /** Stops sending, waits for the probes in flight, and returns the tally. */
  stop(): Promise<ProbeRun>;
}

export interface ContinuousProbeOptions {
  /** Default 50 ms. */
  readonly intervalMs?: number;
  /** How long an allowed probe may take before it counts as failed. Default 1000 ms: generous on a busy machine. */
  readonly allowedTimeoutMs?: number;
  /** How long a denied probe waits for an answer that must not come. Default 300 ms. */
  readonly deniedTimeoutMs?: number;
}

export function startContinuousProbes(lab: Lab, pairs: readonly ProbePair[], options: ContinuousProbeOptions = {}): ContinuousProbes {
  const intervalMs = options.intervalMs ?? 50;
  const started = performance.now();
  const sent: Record<string, number> = Object.fromEntries(pairs.map((p) => [p.name, 0]));
  const violations: Violation[] = [];
  const inFlight = new Set<Promise<void>>();
  let phase = 'start';

  const probeOnce = (pair: ProbePair) => {
    const atMs = Math.round(performance.now() - started);
    const during = phase;
    sent[pair.name] = (sent[pair.name] ?? 0) + 1;
    const timeoutMs = pair.expect === 'allowed' ? (options.allowedTimeoutMs ?? 1_000) : (options.deniedTimeoutMs ?? 300);
    const probe = lab
      .probe(pair.from, pair.toIP, pair.port, pair.proto, { timeoutMs })
      .then((outcome) => {
        const expected = pair.expect === 'allowed' ? outcome === 'connected' : outcome === 'timeout';
        if (!expected) violations.push({ pair: pair.name, outcome, atMs, phase: during });
      })
      .catch((error: unknown) => {
        violations.push({ pair: pair.name, outcome: 'error', atMs, phase: during, detail: (error as Error).message });
      })
      .finally(() => inFlight.delete(probe));
    inFlight.add(probe);
  };
  const tick = () => pairs.forEach(probeOnce);
  tick();
  const timer = setInterval(tick, intervalMs);

  return {
    phase: (name) => {
      phase = name;
    },
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return { pairs, sent: { ...sent }, violations: [...violations], durationMs: Math.round(performance.now() - started) };
    },
  };
}

/** One line per violation, for an assertion message. */
export function describeViolations(run: ProbeRun): string {
  return run.violations
    .map((v) => `  ${v.pair}: ${v.outcome} at ${v.atMs} ms, during ${v.phase}${v.detail ? ` (${v.detail})` : ''}`)
    .join('\n');
}
