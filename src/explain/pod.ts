import { type Direction, type NetworkPolicy, type Pod, podKey, policyKey } from '../model/types.js';
import {
  auditingPolicies,
  connectionVerdict,
  declaredProbes,
  isolatingPolicies,
  podAddresses,
  podEndpoint,
  rulesOf,
  sortedPods,
} from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { PeerPorts, PodDirectionExplanation, PodExplanation, PodExplanationOptions, PolicyRules } from './types.js';

/** What applies to a pod: its addresses, and per direction the policies isolating it and whom it exchanges with. */
export function podExplanation(snapshot: Snapshot, pod: Pod, options: PodExplanationOptions = {}): PodExplanation {
  const withReachability = options.reachability ?? true;
  return {
    kind: 'pod',
    pod: podKey(pod),
    ...(pod.workload === undefined ? {} : { workload: pod.workload }),
    ...(pod.nodeName === undefined ? {} : { nodeName: pod.nodeName }),
    hostNetwork: pod.hostNetwork,
    ips: pod.ips,
    labels: pod.labels,
    ports: pod.ports,
    ingress: podDirection(snapshot, pod, 'ingress', withReachability),
    egress: podDirection(snapshot, pod, 'egress', withReachability),
  };
}

function podDirection(snapshot: Snapshot, pod: Pod, direction: Direction, withReachability: boolean): PodDirectionExplanation {
  const policies = isolatingPolicies(snapshot, pod, direction);
  const audit = auditingPolicies(snapshot, pod, direction);
  const withRules = (policy: NetworkPolicy): PolicyRules => ({
    policy: policyKey(policy),
    errors: policy.errors.map(({ field, message }) => ({ field, message })),
    rules: rulesOf(policy, direction).map(({ peers, ports }) => ({ peers, ports })),
  });
  return {
    isolated: policies.length > 0,
    policies: policies.map(withRules),
    ...(audit.length > 0 ? { audit: audit.map(withRules) } : {}),
    ...(withReachability ? { reachability: reachability(snapshot, pod, direction) } : {}),
  };
}

function reachability(snapshot: Snapshot, pod: Pod, direction: Direction): NonNullable<PodDirectionExplanation['reachability']> {
  const allowed: PeerPorts[] = [];
  const denied: PeerPorts[] = [];
  for (const other of sortedPods(snapshot)) {
    if (other === pod) continue;
    const [from, to] = direction === 'ingress' ? [other, pod] : [pod, other];
    const addresses = podAddresses(from, to);
    if (!addresses) continue;
    const ok: PeerPorts['ports'][number][] = [];
    const no: PeerPorts['ports'][number][] = [];
    for (const probe of declaredProbes(to)) {
      const conn = { from: podEndpoint(from, addresses.fromIP), to: podEndpoint(to, addresses.toIP), ...probe };
      (connectionVerdict(snapshot, conn).allowed ? ok : no).push(probe);
    }
    if (ok.length > 0) allowed.push({ pod: podKey(other), ports: ok });
    if (no.length > 0) denied.push({ pod: podKey(other), ports: no });
  }
  return { allowed, denied };
}
