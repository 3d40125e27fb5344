import { type NetworkPolicy, type Pod, podKey, policyKey } from '../model/types.js';
import { isolatingPolicies } from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { type PodBinding, type PodRef, bindingTable } from './binding-table.js';
import type { Plan } from './plan.js';
import { policyTable } from './policy-table.js';
import { type CompileProblem, distinctProblems } from './problems.js';
import { UNKNOWN_LOCAL_PODS_COUNTER, type UnknownLocalPodsOption, unknownLocalPodsGuard } from './unknown-local-pods.js';

export interface CompileOptions {
  readonly nodeName: string;
  readonly bindings: readonly PodBinding[];
  /**
   * Drop (and count in UNKNOWN_LOCAL_PODS_COUNTER) forwarded packets from or to an address of these CIDRs that
   * no known pod of this node holds. Absent: such pods pass as pods no policy selects. Throws on a bad CIDR.
   */
  readonly unknownLocalPods?: UnknownLocalPodsOption;
}

export interface CompileResult {
  readonly plan: Plan;
  readonly problems: readonly CompileProblem[];
  /** Local pods with addresses and no usable binding, sorted: their source addresses are not checked. */
  readonly unboundPods: readonly PodRef[];
}

/**
 * The desired nftables content for one node. Only this node's pods get chains; every other pod of the cluster
 * matters only as a member of the peer sets those chains reference.
 */
export function compilePlan(snapshot: Snapshot, options: CompileOptions): CompileResult {
  const localPods = snapshot.pods
    .filter((pod) => pod.nodeName === options.nodeName && !pod.hostNetwork)
    .sort((a, b) => (podKey(a) < podKey(b) ? -1 : 1));
  const guard = options.unknownLocalPods && unknownLocalPodsGuard(options.unknownLocalPods, localPods);
  const policy = policyTable(snapshot, localPods, guard);
  const binding = bindingTable(localPods, options.bindings);
  return {
    plan: {
      tables: [policy.table, binding.table],
      counters: policy.counters,
      ...(guard ? { unknownLocalPodsCounter: UNKNOWN_LOCAL_PODS_COUNTER } : {}),
    },
    problems: distinctProblems([...invalidPolicyProblems(snapshot, localPods), ...policy.problems, ...binding.problems]),
    unboundPods: binding.unboundPods,
  };
}

/** Invalid policies that isolate a pod of this node: they allow nothing here, so say why. */
function invalidPolicyProblems(snapshot: Snapshot, localPods: readonly Pod[]): CompileProblem[] {
  const invalid = new Map<string, NetworkPolicy>();
  for (const pod of localPods) {
    for (const policy of [...isolatingPolicies(snapshot, pod, 'ingress'), ...isolatingPolicies(snapshot, pod, 'egress')]) {
      if (policy.errors.length > 0) invalid.set(policyKey(policy), policy);
    }
  }
  return [...invalid.values()].flatMap((policy) =>
    policy.errors.map((error) => ({
      kind: 'invalid-policy' as const,
      object: error.object,
      field: error.field,
      message: `${error.message}; the policy allows nothing, so the pods it selects stay isolated`,
    })),
  );
}
