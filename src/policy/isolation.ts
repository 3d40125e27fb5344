import { type Direction, type NetworkPolicy, type Pod, policyKey } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { enforcementMode } from './enforcement.js';
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

interface DirectionIsolation {
  readonly enforced: Isolation;
  readonly audit: Isolation;
}

type PerDirection = Readonly<Record<Direction, DirectionIsolation>>;

// Per-snapshot memo: a verdict never scans all policies, only those of the pod's namespace, once per pod.
const memo = new WeakMap<Snapshot, Map<Pod, PerDirection>>();

/**
 * The enforce-mode policies that select `pod` for `direction`. Non-empty means the pod is isolated in that
 * direction; audit-mode policies neither isolate nor allow (auditingPolicies).
 */
export function isolatingPolicies(snapshot: Snapshot, pod: Pod, direction: Direction): readonly NetworkPolicy[] {
  return isolation(snapshot, pod, direction).policies;
}

/** The isolating (enforce-mode) policies with their keys, memoized per snapshot and pod. */
export function isolation(snapshot: Snapshot, pod: Pod, direction: Direction): Isolation {
  return directionIsolation(snapshot, pod, direction).enforced;
}

/**
 * The audit-mode policies that would isolate `pod` for `direction` if enforced; empty when enforce-mode policies
 * isolate it there, since audit policies could only allow more than those do.
 */
export function auditingPolicies(snapshot: Snapshot, pod: Pod, direction: Direction): readonly NetworkPolicy[] {
  return auditIsolation(snapshot, pod, direction).policies;
}

/** auditingPolicies with their keys, memoized per snapshot and pod. */
export function auditIsolation(snapshot: Snapshot, pod: Pod, direction: Direction): Isolation {
  return directionIsolation(snapshot, pod, direction).audit;
}

const NO_ISOLATION: Isolation = { policies: [], keys: [] };

function directionIsolation(snapshot: Snapshot, pod: Pod, direction: Direction): DirectionIsolation {
  let perPod = memo.get(snapshot);
  if (!perPod) {
    perPod = new Map();
    memo.set(snapshot, perPod);
  }
  let entry = perPod.get(pod);
  if (!entry) {
    const selecting = snapshot.policiesInNamespace(pod.namespace).filter((p) => selectsPod(p, pod));
    const audited = new Set(selecting.filter((p) => enforcementMode(snapshot, p) === 'audit'));
    const forDirection = (d: Direction): DirectionIsolation => {
      const applying = selecting.filter((p) => appliesTo(p, d));
      const enforced = applying.filter((p) => !audited.has(p));
      const audit = enforced.length === 0 ? applying.filter((p) => audited.has(p)) : [];
      return {
        enforced: { policies: enforced, keys: enforced.map(policyKey) },
        audit: audit.length === 0 ? NO_ISOLATION : { policies: audit, keys: audit.map(policyKey) },
      };
    };
    entry = { ingress: forDirection('ingress'), egress: forDirection('egress') };
    perPod.set(pod, entry);
  }
  return entry[direction];
}

export function isIsolated(snapshot: Snapshot, pod: Pod, direction: Direction): boolean {
  return isolatingPolicies(snapshot, pod, direction).length > 0;
}
