// A truth table of pod-to-pod connectivity in the shape of the upstream e2e netpol suite: rows are sources,
// columns destinations, '.' allowed and 'X' denied. Expectations start all true or all false and are adjusted
// by peer patterns, so a case reads as "what changed" rather than as 81 literals.

/** Matches pods by namespace and/or pod name; an empty pattern matches every pod. */
export interface PodPattern {
  readonly namespace?: string;
  readonly pod?: string;
}

function matches(pattern: PodPattern, key: string): boolean {
  const [ns, name] = key.split('/');
  return (pattern.namespace === undefined || pattern.namespace === ns) && (pattern.pod === undefined || pattern.pod === name);
}

export class Reachability {
  private readonly values: Map<string, Map<string, boolean>>;

  constructor(
    readonly pods: readonly string[],
    defaultExpectation: boolean,
  ) {
    this.values = new Map(pods.map((from) => [from, new Map(pods.map((to) => [to, defaultExpectation]))]));
  }

  /** The table measured by asking `probe` about every ordered pair. */
  static observe(pods: readonly string[], probe: (from: string, to: string) => boolean): Reachability {
    const table = new Reachability(pods, false);
    for (const from of pods) for (const to of pods) table.expect(from, to, probe(from, to));
    return table;
  }

  get(from: string, to: string): boolean {
    const value = this.values.get(from)?.get(to);
    if (value === undefined) throw new Error(`no cell ${from} -> ${to}`);
    return value;
  }

  expect(from: string, to: string, allowed: boolean): this {
    const row = this.values.get(from);
    if (!row?.has(to)) throw new Error(`no cell ${from} -> ${to}`);
    row.set(to, allowed);
    return this;
  }

  expectPeer(from: PodPattern, to: PodPattern, allowed: boolean): this {
    const froms = this.pods.filter((p) => matches(from, p));
    const tos = this.pods.filter((p) => matches(to, p));
    if (froms.length === 0 || tos.length === 0) throw new Error(`pattern matches no pod: ${JSON.stringify({ from, to })}`);
    for (const f of froms) for (const t of tos) this.expect(f, t, allowed);
    return this;
  }

  /** Every source to `pod`. */
  expectAllIngress(pod: string, allowed: boolean): this {
    for (const from of this.pods) this.expect(from, pod, allowed);
    return this;
  }

  /** `pod` to every destination. */
  expectAllEgress(pod: string, allowed: boolean): this {
    for (const to of this.pods) this.expect(pod, to, allowed);
    return this;
  }

  /** A pod always reaches itself. */
  allowLoopback(): this {
    for (const pod of this.pods) this.expect(pod, pod, true);
    return this;
  }

  /** The cells where the two tables disagree. */
  mismatches(other: Reachability): { from: string; to: string; expected: boolean; observed: boolean }[] {
    const out: { from: string; to: string; expected: boolean; observed: boolean }[] = [];
    for (const from of this.pods) {
      for (const to of this.pods) {
        if (this.get(from, to) !== other.get(from, to)) out.push({ from, to, expected: this.get(from, to), observed: other.get(from, to) });
      }
    }
    return out;
  }

  /** Upstream's table form: a header of destinations, one row per source. */
  prettyPrint(mark: (from: string, to: string) => string = (f, t) => (this.get(f, t) ? '.' : 'X')): string {
    const header = ['-', ...this.pods].join('\t');
    const rows = this.pods.map((from) => [from, ...this.pods.map((to) => mark(from, to))].join('\t'));
    return [header, ...rows].join('\n');
  }
}

/** Expected, observed, and their comparison ('.' agree, 'X' disagree), as upstream prints a failed case. */
export function reachabilityReport(expected: Reachability, observed: Reachability): string {
  const comparison = expected.prettyPrint((f, t) => (expected.get(f, t) === observed.get(f, t) ? '.' : 'X'));
  const cells = expected.mismatches(observed).map((m) => `  ${m.from} -> ${m.to}: expected ${m.expected ? 'allowed' : 'denied'}, got ${m.observed ? 'allowed' : 'denied'}`);
  return ['expected:', expected.prettyPrint(), 'observed:', observed.prettyPrint(), 'comparison:', comparison, ...cells].join('\n');
}
