import type { NetworkPolicy } from '../../model/types.js';
import { policyKey } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';

/** The stable ids of the checks: what a user disables, and what the CLI prints beside each warning. */
export const CHECK_IDS = [
  'selector-matches-nothing',
  'and-or-trap',
  'egress-rules-ignored',
  'ingress-rules-ignored',
  'egress-left-open',
  'dns-blocked',
  'namespace-label-missing',
  'named-port-undeclared',
  'ipblock-covers-pods',
  'invalid-policy',
  'invalid-enforcement',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

/** One finding: the object and field at fault, what is wrong, and how to fix it (each one line). */
export interface LintWarning {
  readonly check: CheckId;
  /** `NetworkPolicy prod/allow-db` */
  readonly object: string;
  /** `spec.ingress[0].from[1].podSelector.matchLabels.app`; empty for the whole object. */
  readonly field: string;
  readonly message: string;
  readonly fix: string;
  /** The file the object came from, when loaded from manifests. */
  readonly source?: string;
}

export interface LintCheck {
  readonly id: CheckId;
  readonly run: (snapshot: Snapshot) => LintWarning[];
}

function policyObject(policy: NetworkPolicy): string {
  return `NetworkPolicy ${policyKey(policy)}`;
}

export function policyWarning(
  check: CheckId,
  policy: NetworkPolicy,
  parts: { field: string; message: string; fix: string },
): LintWarning {
  const warning = { check, object: policyObject(policy), ...parts };
  return policy.source === undefined ? warning : { ...warning, source: policy.source };
}
