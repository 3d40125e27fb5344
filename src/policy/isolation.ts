import { type Direction, type NetworkPolicy, type Pod, policyKey } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { selectorMatches } from './selector.js';

/**
 * Whether a policy selects a pod: same namespace, podSelector matches, and the pod is not hostNetwork
 * (upstream: policies do not apply to host-network pods).
 */
export function selectsPod(policy: NetworkPolicy, pod: Pod): boolean {
  return pod.namespace === policy.namespace && !pod.hostNetwork && selectorMatches(policy.podSelector, pod.labels);
}

export function appliesTo(policy: NetworkPolicy, direction: Direction): boolean {
  return policy.policyTypes.includes(direction);
}

export function selectedPods(snapshot: Snapshot, policy: NetworkPolicy): Pod[] {
  return snapshot.podsInNamespace(policy.namespace).filter((pod) => selectsPod(policy, pod));
}

interface Isolation {
  readonly policies: readonly NetworkPolicy[];
  /** `ns/name` of each policy, computed once: every verdict on the pod carries them. */
  readonly keys: readonly string[];
}

type PerDirection = Readonly<Record<Direction, Isolation>>;

// Per-snapshot memo: a verdict never scans all policies, only those of the pod's namespace, once per pod.
const memo = new WeakMap<Snapshot, Map<Pod, PerDirection>>();

/** The policies that select `pod` for `direction`. Non-empty means the pod is isolated in that direction. */
export function isolatingPolicies(snapshot: Snapshot, pod: Pod, direction: Direction): readonly NetworkPolicy[] {
  return isolation(snapshot, pod, direction).policies;
}

/** The isolating policies with their keys, memoized per snapshot and pod. */
export function isolation(snapshot: Snapshot, pod: Pod, direction: Direction): Isolation {
  let perPod = memo.get(snapshot);
  if (!perPod) {
    perPod = new Map();
    memo.set(snapshot, perPod);
  }
  let entry = perPod.get(pod);
  if (!entry) {
    const selecting = snapshot.policiesInNamespace(pod.namespace).filter((p) => selectsPod(p, pod));
    const forDirection = (d: Direction): Isolation => {
      const policies = selecting.filter((p) => appliesTo(p, d));
      return { policies, keys: policies.map(policyKey) };
    };
    entry = { ingress: forDirection('ingress'), egress: forDirection('egress') };
    perPod.set(pod, entry);
  }
  return entry[direction];
}

export function isIsolated(snapshot: Snapshot, pod: Pod, direction: Direction): boolean {
  return isolatingPolicies(snapshot, pod, direction).length > 0;
}
