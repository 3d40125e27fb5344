// What the proposal states, before it is written as policies: "pods of workload W may reach (or be reached by)
// peer P on these ports", each statement with the observed flows that called for it. The closure of the
// observed flows is exactly the union of these statements, and the policies must allow exactly that.
import { compareText } from '../model/text-order.js';
import type { Direction, LabelSelector, PolicyPort } from '../model/types.js';
import { type FlowEnd, type ObservedFlow, compareAddresses, isInNamespace } from './observed-flows.js';
import { type Workload, selectorKey, workloadOf } from './workload.js';

/** Who is on the other side of a rule: the pods of a workload in some namespace, or one address. */
export type PeerClass =
  | { readonly kind: 'pods'; readonly namespace: string; readonly selector: LabelSelector }
  | { readonly kind: 'ip'; readonly ip: string };

export type GrantPurpose = 'workload' | 'dns';

export interface Grant {
  readonly purpose: GrantPurpose;
  readonly direction: Direction;
  /** The pods of the advised namespace the rule is for. */
  readonly subject: Workload;
  readonly peer: PeerClass;
  readonly ports: readonly PolicyPort[];
  readonly flows: readonly ObservedFlow[];
}

const DNS_PORT = 53;
/** TCP too, even when only UDP was seen: resolvers fall back to TCP for answers too long for a datagram. */
const DNS_PORTS: readonly PolicyPort[] = [
  { protocol: 'UDP', port: DNS_PORT },
  { protocol: 'TCP', port: DNS_PORT },
];
const WHOLE_NAMESPACE: Workload = { selector: { matchLabels: {}, matchExpressions: [] }, name: 'dns' };

/**
 * The statements that keep every flow working, for both ends that live in `namespace`: egress of its pods
 * that send, ingress of its pods that receive. DNS lookups of any pod open DNS for the whole namespace, as every
 * pod resolves names sooner or later.
 */
export function grantsFor(namespace: string, flows: readonly ObservedFlow[]): Grant[] {
  const grants = new Map<string, { grant: Omit<Grant, 'flows'>; flows: ObservedFlow[] }>();
  const add = (grant: Omit<Grant, 'flows'>, flow: ObservedFlow) => {
    const key = [grant.purpose, grant.direction, selectorKey(grant.subject.selector), peerKey(grant.peer), grant.ports.map(portKey).join(' ')].join('|');
    const entry = grants.get(key) ?? { grant, flows: [] };
    entry.flows.push(flow);
    grants.set(key, entry);
  };
  for (const flow of flows) {
    // A pod talking to itself never leaves its network namespace: no policy applies.
    if (flow.from.kind === 'pod' && flow.to.kind === 'pod' && flow.from.pod === flow.to.pod) continue;
    if (isInNamespace(flow.from, namespace)) {
      if (isDnsLookup(flow)) {
        add({ purpose: 'dns', direction: 'egress', subject: WHOLE_NAMESPACE, peer: peerClass(flow.to), ports: DNS_PORTS }, flow);
      } else {
        add({ purpose: 'workload', direction: 'egress', subject: workloadOf(flow.from.pod), peer: peerClass(flow.to), ports: [grantPort(flow)] }, flow);
      }
    }
    if (isInNamespace(flow.to, namespace)) {
      add({ purpose: 'workload', direction: 'ingress', subject: workloadOf(flow.to.pod), peer: peerClass(flow.from), ports: [grantPort(flow)] }, flow);
    }
  }
  return [...grants.values()].map(({ grant, flows: covered }) => ({ ...grant, flows: covered }));
}

/** A lookup sent to a resolver pod of the cluster (kube-dns or whatever the cluster names it). */
function isDnsLookup(flow: ObservedFlow): boolean {
  return flow.to.kind === 'pod' && flow.port === DNS_PORT && (flow.protocol === 'UDP' || flow.protocol === 'TCP');
}

function peerClass(end: FlowEnd): PeerClass {
  return end.kind === 'pod' ? { kind: 'pods', namespace: end.pod.namespace, selector: workloadOf(end.pod).selector } : { kind: 'ip', ip: end.ip };
}

/** The port by the name the destination declares for it, so the rule follows the pod if the number changes. */
function grantPort(flow: ObservedFlow): PolicyPort {
  const declared = flow.to.kind === 'pod' ? flow.to.pod.ports.find((p) => p.containerPort === flow.port && p.protocol === flow.protocol) : undefined;
  return { protocol: flow.protocol, port: declared?.name ?? flow.port };
}

export function peerKey(peer: PeerClass): string {
  return peer.kind === 'pods' ? `pods:${peer.namespace}:${selectorKey(peer.selector)}` : `ip:${peer.ip}`;
}

export function portKey(port: PolicyPort): string {
  return `${port.protocol}/${String(port.port)}`;
}

/** Pods of the policy's own namespace first, then other namespaces, then addresses. */
export function comparePeers(namespace: string, a: PeerClass, b: PeerClass): number {
  if (a.kind === 'pods' && b.kind === 'pods') {
    const local = Number(b.namespace === namespace) - Number(a.namespace === namespace);
    return local || compareText(a.namespace, b.namespace) || compareText(selectorKey(a.selector), selectorKey(b.selector));
  }
  if (a.kind === 'ip' && b.kind === 'ip') return compareAddresses(a.ip, b.ip);
  return a.kind === 'pods' ? -1 : 1;
}

/** By protocol, then numbers before names, numbers ascending. */
export function comparePorts(a: PolicyPort, b: PolicyPort): number {
  const protocol = compareText(a.protocol, b.protocol);
  if (protocol !== 0) return protocol;
  if (typeof a.port === 'number' && typeof b.port === 'number') return a.port - b.port;
  if (typeof a.port === 'number') return -1;
  if (typeof b.port === 'number') return 1;
  return compareText(String(a.port), String(b.port));
}
