// The grants written as NetworkPolicies: a default deny for the namespace, one policy for DNS, and one policy per
// workload holding its ingress and egress rules. Rules join the peers that share the very same ports, so a rule
// (peers x ports) allows exactly the union of its grants and never a peer on another peer's port.
import { compareText } from '../model/text-order.js';
import { type Direction, type NetworkPolicy, type Peer, type PolicyPort, type Rule, METADATA_NAME_LABEL } from '../model/types.js';
import { type Grant, type PeerClass, comparePeers, comparePorts, grantsFor, peerKey, portKey } from './grants.js';
import type { ObservedFlow } from './observed-flows.js';
import { selectorKey } from './workload.js';

export type PolicyPurpose = 'default-deny' | 'dns' | 'workload';

/** One rule of a proposed policy and the observed flows it keeps working. */
export interface ProposedRule {
  readonly direction: Direction;
  /** Index in the policy's `ingress` or `egress`. */
  readonly index: number;
  readonly flows: readonly ObservedFlow[];
}

export interface ProposedPolicy {
  readonly purpose: PolicyPurpose;
  readonly policy: NetworkPolicy;
  readonly rules: readonly ProposedRule[];
}

export interface Proposal {
  readonly namespace: string;
  readonly policies: readonly ProposedPolicy[];
  /** What the policies allow beyond the default deny, statement by statement. */
  readonly grants: readonly Grant[];
  readonly flows: readonly ObservedFlow[];
}

/** As manifests usually spell policyTypes and order rules: ingress first. */
const POLICY_TYPE_ORDER: readonly Direction[] = ['ingress', 'egress'];

const DEFAULT_DENY_NAME = 'default-deny';
const DNS_POLICY_NAME = 'allow-dns';

/** Each observed flow's place in the proposal's list: rules list the flows they cover in that order. */
type FlowOrder = ReadonlyMap<ObservedFlow, number>;

export function propose(namespace: string, flows: readonly ObservedFlow[]): Proposal {
  const grants = grantsFor(namespace, flows);
  const order: FlowOrder = new Map(flows.map((flow, i) => [flow, i]));
  const policies: ProposedPolicy[] = [defaultDeny(namespace)];
  const dns = grants.filter((g) => g.purpose === 'dns');
  if (dns.length > 0) policies.push(policyOf(namespace, DNS_POLICY_NAME, 'dns', dns, order));

  const bySubject = new Map<string, Grant[]>();
  for (const grant of grants.filter((g) => g.purpose === 'workload')) {
    const key = selectorKey(grant.subject.selector);
    const list = bySubject.get(key);
    if (list) list.push(grant);
    else bySubject.set(key, [grant]);
  }
  const taken = new Set([DEFAULT_DENY_NAME, DNS_POLICY_NAME]);
  for (const key of [...bySubject.keys()].sort(compareText)) {
    const subjectGrants = bySubject.get(key)!;
    const name = uniqueName(`allow-${policyNamePart(subjectGrants[0]!.subject.name)}`, taken);
    policies.push(policyOf(namespace, name, 'workload', subjectGrants, order));
  }
  return { namespace, policies, grants, flows };
}

function defaultDeny(namespace: string): ProposedPolicy {
  return {
    purpose: 'default-deny',
    policy: networkPolicy(namespace, DEFAULT_DENY_NAME, { matchLabels: {}, matchExpressions: [] }, { ingress: [], egress: [] }, POLICY_TYPE_ORDER),
    rules: [],
  };
}

/** One policy for grants that share a subject: per direction, one rule per distinct set of ports. */
function policyOf(namespace: string, name: string, purpose: PolicyPurpose, grants: readonly Grant[], order: FlowOrder): ProposedPolicy {
  const rules: Record<Direction, Rule[]> = { ingress: [], egress: [] };
  const proposed: ProposedRule[] = [];
  for (const direction of POLICY_TYPE_ORDER) {
    for (const group of rulesOf(namespace, grants.filter((g) => g.direction === direction), order)) {
      proposed.push({ direction, index: rules[direction].length, flows: group.flows });
      rules[direction].push({ peers: group.peers.map((peer) => peerOf(namespace, peer)), ports: group.ports });
    }
  }
  const types = POLICY_TYPE_ORDER.filter((d) => rules[d].length > 0);
  return { purpose, policy: networkPolicy(namespace, name, grants[0]!.subject.selector, rules, types), rules: proposed };
}

interface RuleGroup {
  readonly peers: readonly PeerClass[];
  readonly ports: readonly PolicyPort[];
  readonly flows: readonly ObservedFlow[];
}

function rulesOf(namespace: string, grants: readonly Grant[], order: FlowOrder): RuleGroup[] {
  // Every port a peer is granted, then peers with identical port sets share one rule.
  interface PeerPorts {
    readonly peer: PeerClass;
    readonly ports: Map<string, PolicyPort>;
    readonly flows: ObservedFlow[];
  }
  const byPeer = new Map<string, PeerPorts>();
  for (const grant of grants) {
    const key = peerKey(grant.peer);
    const entry: PeerPorts = byPeer.get(key) ?? { peer: grant.peer, ports: new Map(), flows: [] };
    for (const port of grant.ports) entry.ports.set(portKey(port), port);
    entry.flows.push(...grant.flows);
    byPeer.set(key, entry);
  }
  const byPorts = new Map<string, { peers: PeerClass[]; ports: PolicyPort[]; flows: ObservedFlow[] }>();
  for (const entry of byPeer.values()) {
    const ports = [...entry.ports.values()].sort(comparePorts);
    const key = ports.map(portKey).join(' ');
    const group = byPorts.get(key) ?? { peers: [] as PeerClass[], ports, flows: [] as ObservedFlow[] };
    group.peers.push(entry.peer);
    group.flows.push(...entry.flows);
    byPorts.set(key, group);
  }
  const groups = [...byPorts.values()].map((g) => ({
    peers: g.peers.sort((a, b) => comparePeers(namespace, a, b)),
    ports: g.ports,
    flows: uniqueFlows(g.flows, order),
  }));
  return groups.sort((a, b) => comparePeers(namespace, a.peers[0]!, b.peers[0]!));
}

/** A peer of the policy's own namespace by podSelector alone; another namespace by the name label the API sets. */
function peerOf(namespace: string, peer: PeerClass): Peer {
  switch (peer.kind) {
    case 'pods':
      return peer.namespace === namespace
        ? { kind: 'pods', podSelector: peer.selector }
        : {
            kind: 'pods',
            namespaceSelector: { matchLabels: { [METADATA_NAME_LABEL]: peer.namespace }, matchExpressions: [] },
            podSelector: peer.selector,
          };
    case 'ip':
      return { kind: 'ipBlock', ipBlock: { cidr: `${peer.ip}/${peer.ip.includes(':') ? 128 : 32}`, except: [] } };
    default: {
      const unreachable: never = peer;
      return unreachable;
    }
  }
}

function networkPolicy(
  namespace: string,
  name: string,
  podSelector: NetworkPolicy['podSelector'],
  rules: Record<Direction, readonly Rule[]>,
  policyTypes: readonly Direction[],
): NetworkPolicy {
  return { namespace, name, podSelector, policyTypes, ingress: rules.ingress, egress: rules.egress, annotations: {}, errors: [] };
}

/** Each flow once, in the order of the observed flows. */
function uniqueFlows(flows: readonly ObservedFlow[], order: FlowOrder): ObservedFlow[] {
  return [...new Set(flows)].sort((a, b) => order.get(a)! - order.get(b)!);
}

const MAX_NAME = 63;

/** A DNS label from label values: lower case, other characters as '-', short enough for any tool. */
function policyNamePart(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return cleaned === '' ? 'pods' : cleaned;
}

function uniqueName(wanted: string, taken: Set<string>): string {
  const base = wanted.slice(0, MAX_NAME - 4).replace(/-$/, '');
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}
