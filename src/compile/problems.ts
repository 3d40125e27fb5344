/**
 * Something the compiler reports. The plan already fails closed for it: an invalid policy still isolates its
 * pods and allows nothing; a rule the compiler cannot express contributes nothing; an unusable binding leaves
 * the pod unbound.
 */
export interface CompileProblem {
  readonly kind: 'invalid-policy' | 'invalid-annotation' | 'inexpressible';
  /** `NetworkPolicy prod/allow-db`, `Pod prod/web-1` */
  readonly object: string;
  /** `spec.egress[0].to[1].ipBlock.cidr`; empty for the whole object. */
  readonly field: string;
  readonly message: string;
}

/** Sorted and without repeats (a policy selecting several local pods is met once per pod). */
export function distinctProblems(problems: readonly CompileProblem[]): CompileProblem[] {
  const byKey = new Map(problems.map((p) => [JSON.stringify([p.object, p.field, p.kind, p.message]), p]));
  return [...byKey.keys()].sort().map((key) => byKey.get(key)!);
}
