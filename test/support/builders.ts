// Small builders of validated model objects for tests: typed values, no YAML, no loader.
// Defaults mirror what the API server or loader fills in, so a test only spells what it is about.
import type {
  ContainerPort,
  Direction,
  IPBlock,
  LabelSelector,
  LabelSelectorRequirement,
  Labels,
  Namespace,
  NetworkPolicy,
  Peer,
  PolicyPort,
  Pod,
  Protocol,
  Rule,
  SelectorOperator,
  ValidationError,
} from '../../src/model/types.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import type { Connection, Endpoint } from '../../src/policy/endpoint.js';

/** `ns/name` split; throws on a key without exactly one slash so typos fail loudly. */
export function splitKey(key: string): { namespace: string; name: string } {
  const parts = key.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new Error(`expected ns/name, got "${key}"`);
  return { namespace: parts[0], name: parts[1] };
}

export function selector(
  matchLabels: Labels = {},
  matchExpressions: readonly LabelSelectorRequirement[] = [],
): LabelSelector {
  return { matchLabels, matchExpressions };
}

/** `{}`: selects everything. A fresh object each call, as selectors are memoised by identity. */
export function everything(): LabelSelector {
  return selector();
}

export function expression(key: string, operator: SelectorOperator, values: readonly string[] = []): LabelSelectorRequirement {
  return { key, operator, values };
}

export function namespace(name: string, labels: Labels = {}): Namespace {
  return { name, labels, implicit: false };
}

export function containerPort(containerPort: number, name?: string, protocol: Protocol = 'TCP'): ContainerPort {
  return name === undefined ? { containerPort, protocol } : { name, containerPort, protocol };
}

export interface PodOptions {
  readonly labels?: Labels;
  readonly ips?: readonly string[];
  readonly ports?: readonly ContainerPort[];
  readonly nodeName?: string;
  readonly hostNetwork?: boolean;
}

export function pod(key: string, options: PodOptions = {}): Pod {
  const { namespace: ns, name } = splitKey(key);
  const base = {
    namespace: ns,
    name,
    labels: options.labels ?? {},
    ips: options.ips ?? [],
    hostNetwork: options.hostNetwork ?? false,
    ports: options.ports ?? [],
  };
  return options.nodeName === undefined ? base : { ...base, nodeName: options.nodeName };
}

export function podPeer(parts: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }): Peer {
  return { kind: 'pods', ...parts };
}

export function ipBlock(cidr: string, except: readonly string[] = []): IPBlock {
  return { cidr, except };
}

export function ipBlockPeer(cidr: string, except: readonly string[] = []): Peer {
  return { kind: 'ipBlock', ipBlock: ipBlock(cidr, except) };
}

/** A policy port: `port(80)`, `port(80, 'UDP')`, `port('http')`, `port(8000, 'TCP', 9000)`, `anyPort('UDP')`. */
export function port(value: number | string, protocol: Protocol = 'TCP', endPort?: number): PolicyPort {
  return endPort === undefined ? { protocol, port: value } : { protocol, port: value, endPort };
}

export function anyPort(protocol: Protocol = 'TCP'): PolicyPort {
  return { protocol };
}

/** A rule: no peers = every peer, no ports = every port (`ingress: [{}]`). */
export function rule(peers: readonly Peer[] = [], ports: readonly PolicyPort[] = []): Rule {
  return { peers, ports };
}

export interface PolicyOptions {
  readonly podSelector?: LabelSelector;
  readonly ingress?: readonly Rule[];
  readonly egress?: readonly Rule[];
  /** Absent: defaulted as the API server does (Ingress always, Egress when egress rules exist). */
  readonly policyTypes?: readonly Direction[];
  readonly errors?: readonly ValidationError[];
}

export function policy(key: string, options: PolicyOptions = {}): NetworkPolicy {
  const { namespace: ns, name } = splitKey(key);
  const ingress = options.ingress ?? [];
  const egress = options.egress ?? [];
  const policyTypes: readonly Direction[] =
    options.policyTypes ?? (egress.length > 0 ? ['ingress', 'egress'] : ['ingress']);
  return {
    namespace: ns,
    name,
    podSelector: options.podSelector ?? everything(),
    policyTypes,
    ingress,
    egress,
    annotations: {},
    errors: options.errors ?? [],
  };
}

export function snapshotOf(parts: {
  namespaces?: readonly Namespace[];
  pods?: readonly Pod[];
  policies?: readonly NetworkPolicy[];
}): Snapshot {
  return buildSnapshot({ namespaces: parts.namespaces ?? [], pods: parts.pods ?? [], policies: parts.policies ?? [] });
}

/** The pod at its first IP unless another is named. */
export function at(p: Pod, ip?: string): Endpoint {
  const address = ip ?? p.ips[0];
  if (address === undefined) throw new Error(`pod ${p.namespace}/${p.name} has no IP`);
  return { kind: 'pod', pod: p, ip: address };
}

export function external(ip: string): Endpoint {
  return { kind: 'external', ip };
}

export function connection(from: Endpoint, to: Endpoint, port: number, protocol: Protocol = 'TCP'): Connection {
  return { from, to, port, protocol };
}
