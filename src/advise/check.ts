// The proposal judged by the real semantics (src/policy), not by how it was built: put into the cluster beside
// the policies already there, it must allow every flow it was made from.
import { ipFamily } from '../model/addresses.js';
import { type Pod, policyKey } from '../model/types.js';
import { type Connection, type ConnectionVerdict, type Endpoint, connectionVerdict, firstAddresses } from '../policy/index.js';
import { buildSnapshot, type Snapshot } from '../snapshot/snapshot.js';
import type { FlowEnd, ObservedFlow } from './observed-flows.js';
import type { Proposal } from './proposal.js';

/** The cluster once the proposal is applied: its policies replace same-named ones of the namespace, as `kubectl apply` does. */
export function withProposal(snapshot: Snapshot, proposal: Proposal): Snapshot {
  const proposed = proposal.policies.map((p) => p.policy);
  const replaced = new Set(proposed.map(policyKey));
  return buildSnapshot({
    namespaces: [...snapshot.namespaces.values()],
    pods: snapshot.pods,
    policies: [...snapshot.policies.filter((p) => !replaced.has(policyKey(p))), ...proposed],
  });
}

export type FlowCheck =
  | { readonly flow: ObservedFlow; readonly result: 'allowed' }
  | { readonly flow: ObservedFlow; readonly result: 'denied'; readonly verdict: ConnectionVerdict }
  /** The two ends share no address family, so no connection between them can be judged. */
  | { readonly flow: ObservedFlow; readonly result: 'unaddressable' };

/** The verdict on every observed flow in the cluster with the proposal applied. */
export function checkProposal(snapshot: Snapshot, proposal: Proposal): FlowCheck[] {
  const applied = withProposal(snapshot, proposal);
  return proposal.flows.map((flow): FlowCheck => {
    const connection = flowConnection(applied, flow);
    if (connection === undefined) return { flow, result: 'unaddressable' };
    const verdict = connectionVerdict(applied, connection);
    return verdict.allowed ? { flow, result: 'allowed' } : { flow, result: 'denied', verdict };
  });
}

/** The connection an observed flow stands for: pods at their address of the family both ends have (IPv4 first). */
export function flowConnection(snapshot: Snapshot, flow: ObservedFlow): Connection | undefined {
  for (const family of [4, 6] as const) {
    const from = endpointOf(snapshot, flow.from, family);
    const to = endpointOf(snapshot, flow.to, family);
    if (from && to) return { from, to, port: flow.port, protocol: flow.protocol };
  }
  return undefined;
}

function endpointOf(snapshot: Snapshot, end: FlowEnd, family: 4 | 6): Endpoint | undefined {
  if (end.kind === 'ip') {
    if (ipFamily(end.ip) !== family) return undefined;
    // A hostNetwork pod's address is its node's: the semantics treat it as that pod (own-node traffic).
    const hostPod = hostNetworkPodsByIP(snapshot).get(end.ip);
    return hostPod ? { kind: 'pod', pod: hostPod, ip: end.ip } : { kind: 'external', ip: end.ip };
  }
  const ip = firstAddresses(end.pod)[family];
  return ip === undefined ? undefined : { kind: 'pod', pod: end.pod, ip };
}

// Flows to and from addresses outside the pods are many: look their hostNetwork pod up, not through every pod.
const hostNetworkPodIndexes = new WeakMap<Snapshot, ReadonlyMap<string, Pod>>();

/** Each address of a hostNetwork pod, to the first such pod (in the snapshot's order) holding it. */
function hostNetworkPodsByIP(snapshot: Snapshot): ReadonlyMap<string, Pod> {
  let index = hostNetworkPodIndexes.get(snapshot);
  if (!index) {
    const byIP = new Map<string, Pod>();
    for (const pod of snapshot.pods) {
      if (!pod.hostNetwork) continue;
      for (const ip of pod.ips) if (!byIP.has(ip)) byIP.set(ip, pod);
    }
    index = byIP;
    hostNetworkPodIndexes.set(snapshot, index);
  }
  return index;
}
