// Random clusters for property tests and the differential dataplane test: namespaces with labels, pods with
// labels, IPv4/dual-stack IPs, named container ports and hostNetwork, and policies in both directions with
// selector expressions, ipBlocks with excepts, named ports and port ranges. Small vocabularies on purpose, so
// selectors, CIDRs and port names actually hit.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import {
  type ContainerPort,
  type Direction,
  type IPBlock,
  type LabelSelector,
  type LabelSelectorRequirement,
  type Labels,
  type Namespace,
  type NetworkPolicy,
  type Peer,
  type PolicyPort,
  type Pod,
  type Protocol,
  PROTOCOLS,
  type Rule,
} from '../../src/model/types.js';
import type { SnapshotInput } from '../../src/snapshot/snapshot.js';
import type { Connection, Endpoint } from '../../src/policy/endpoint.js';

export type RandomCluster = SnapshotInput;

export interface ClusterBounds {
  readonly maxNamespaces: number;
  readonly maxPods: number;
  readonly maxPolicies: number;
  readonly nodes: number;
}

export const DEFAULT_BOUNDS: ClusterBounds = { maxNamespaces: 3, maxPods: 10, maxPolicies: 5, nodes: 2 };

/** Which values each label key takes: small, so selectors and labels meet often. */
type Vocabulary = Readonly<Record<string, readonly string[]>>;

const POD_LABELS: Vocabulary = { app: ['web', 'db', 'api'], tier: ['front', 'back'], env: ['prod', 'dev'] };
const NAMESPACE_LABELS: Vocabulary = { team: ['a', 'b'], env: ['prod', 'dev'] };

/** Addresses that are never a pod: the internet, an unused pod-range address, an unused node address. */
export const EXTERNAL_IPS: readonly string[] = ['203.0.113.7', '2001:db8::7', '10.244.0.250', '192.168.0.9'];

/** The ports probes use: every number the pods serve or policies name, and a few neighbours. */
export const PROBE_PORTS: readonly number[] = [53, 80, 81, 443, 5353, 7000, 8080, 8081, 9090, 9091];

export function podIPv4(index: number): string {
  return `10.244.${Math.floor(index / 200)}.${(index % 200) + 2}`;
}

export function podIPv6(index: number): string {
  return `fd00::${(index + 2).toString(16)}`;
}

export function nodeName(index: number): string {
  return `node-${index}`;
}

/** hostNetwork pods share their node's address, as on a real node. */
export function nodeIP(index: number): string {
  return `192.168.0.${index + 1}`;
}

function labelsArbitrary(vocabulary: Vocabulary): fc.Arbitrary<Labels> {
  const parts = Object.fromEntries(Object.entries(vocabulary).map(([k, values]) => [k, fc.constantFrom(...values)]));
  return fc.record(parts, { requiredKeys: [] }) as fc.Arbitrary<Labels>;
}

function requirementArbitrary(vocabulary: Vocabulary): fc.Arbitrary<LabelSelectorRequirement> {
  return fc.constantFrom(...Object.keys(vocabulary)).chain((key) =>
    fc.oneof(
      fc.record({
        key: fc.constant(key),
        operator: fc.constantFrom('In' as const, 'NotIn' as const),
        values: fc.uniqueArray(fc.constantFrom(...vocabulary[key]!), { minLength: 1, maxLength: 2 }),
      }),
      fc.record({ key: fc.constant(key), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant([]) }),
    ),
  );
}

/** Mostly `{}` or one condition: selectors that match some pods and miss others. */
function selectorArbitrary(vocabulary: Vocabulary): fc.Arbitrary<LabelSelector> {
  const onePair = fc
    .constantFrom(...Object.keys(vocabulary))
    .chain((key) => fc.constantFrom(...vocabulary[key]!).map((value): Labels => ({ [key]: value })));
  return fc.record({
    matchLabels: fc.oneof(
      { weight: 3, arbitrary: fc.constant({}) },
      { weight: 3, arbitrary: onePair },
      { weight: 1, arbitrary: labelsArbitrary(vocabulary) },
    ),
    matchExpressions: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 2, arbitrary: fc.array(requirementArbitrary(vocabulary), { minLength: 1, maxLength: 2 }) },
    ),
  });
}

export const podSelectorArbitrary = selectorArbitrary(POD_LABELS);

/** Namespace selectors also use the automatic name label, as real policies do. */
export function namespaceSelectorArbitrary(namespaces: readonly string[]): fc.Arbitrary<LabelSelector> {
  return selectorArbitrary({ ...NAMESPACE_LABELS, 'kubernetes.io/metadata.name': namespaces });
}

// Each named port has two possible numbers (or protocols), so one policy port means different things on
// different destinations.
const containerPortsArbitrary: fc.Arbitrary<readonly ContainerPort[]> = fc
  .record(
    {
      http: fc.constantFrom(80, 8080),
      dns: fc.constantFrom<[number, Protocol]>([53, 'UDP'], [53, 'TCP'], [5353, 'UDP']),
      metrics: fc.constantFrom(9090, 9091),
      sig: fc.constant(7000),
      unnamed: fc.constantFrom(81, 443),
    },
    { requiredKeys: [] },
  )
  .map((p) => {
    const ports: ContainerPort[] = [];
    if (p.http !== undefined) ports.push({ name: 'http', containerPort: p.http, protocol: 'TCP' });
    if (p.dns !== undefined) ports.push({ name: 'dns', containerPort: p.dns[0], protocol: p.dns[1] });
    if (p.metrics !== undefined) ports.push({ name: 'metrics', containerPort: p.metrics, protocol: 'TCP' });
    if (p.sig !== undefined) ports.push({ name: 'sig', containerPort: p.sig, protocol: 'SCTP' });
    if (p.unnamed !== undefined) ports.push({ containerPort: p.unnamed, protocol: 'TCP' });
    return ports;
  });

const protocolArbitrary = fc.constantFrom<Protocol>(...PROTOCOLS);

const policyPortArbitrary: fc.Arbitrary<PolicyPort> = fc.oneof(
  fc.record({ protocol: protocolArbitrary }),
  fc.record({ protocol: protocolArbitrary, port: fc.constantFrom(53, 80, 81, 443, 7000, 8080, 9090) }),
  fc
    .record({ protocol: protocolArbitrary, port: fc.constantFrom(53, 80, 5353, 8080, 9090), span: fc.integer({ min: 0, max: 20 }) })
    .map(({ protocol, port, span }) => ({ protocol, port, endPort: port + span })),
  fc.record({ protocol: protocolArbitrary, port: fc.constantFrom('http', 'dns', 'metrics', 'sig', 'absent') }),
);

interface CidrTemplate {
  readonly cidr: string;
  /** Candidate excepts, kept only when inside the cidr. */
  readonly exceptBase: (n: number) => string;
  readonly exceptLengths: readonly number[];
}

const V4_EXCEPTS = { exceptBase: (n: number) => `10.244.0.${n}`, exceptLengths: [28, 30, 31, 32] };
const CIDR_TEMPLATES: readonly CidrTemplate[] = [
  { cidr: '10.0.0.0/8', ...V4_EXCEPTS },
  { cidr: '10.244.0.0/16', ...V4_EXCEPTS },
  { cidr: '10.244.0.0/24', ...V4_EXCEPTS },
  { cidr: '10.244.0.0/28', ...V4_EXCEPTS },
  { cidr: '0.0.0.0/0', ...V4_EXCEPTS },
  { cidr: '192.168.0.0/24', exceptBase: (n) => `192.168.0.${n}`, exceptLengths: [31, 32] },
  { cidr: '203.0.113.0/24', exceptBase: (n) => `203.0.113.${n}`, exceptLengths: [29, 32] },
  { cidr: '::ffff:10.244.0.0/120', exceptBase: (n) => `::ffff:10.244.0.${n}`, exceptLengths: [124, 126, 128] },
  { cidr: 'fd00::/64', exceptBase: (n) => `fd00::${n.toString(16)}`, exceptLengths: [124, 126, 128] },
  { cidr: '::/0', exceptBase: (n) => `fd00::${n.toString(16)}`, exceptLengths: [120, 128] },
  { cidr: '2001:db8::/32', exceptBase: (n) => `2001:db8::${n.toString(16)}`, exceptLengths: [112, 128] },
];

function networkOf(address: string, length: number): string {
  const addr = ipaddr.parse(address);
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${length}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${length}`);
  return `${network.toString()}/${length}`;
}

function cidrInside(inner: string, outer: string): boolean {
  const [innerAddr, innerLength] = ipaddr.parseCIDR(inner);
  const [outerAddr, outerLength] = ipaddr.parseCIDR(outer);
  return innerAddr.kind() === outerAddr.kind() && innerLength >= outerLength && innerAddr.match(outerAddr, outerLength);
}

/** An ipBlock from templates around the pod, node and external ranges, with excepts inside its cidr. */
export const ipBlockArbitrary: fc.Arbitrary<IPBlock> = fc.constantFrom(...CIDR_TEMPLATES).chain((t) =>
  fc
    .uniqueArray(
      fc.record({ n: fc.integer({ min: 0, max: 20 }), length: fc.constantFrom(...t.exceptLengths) }).map(({ n, length }) => networkOf(t.exceptBase(n), length)),
      { maxLength: 2 },
    )
    .map((excepts) => ({ cidr: t.cidr, except: excepts.filter((e) => cidrInside(e, t.cidr)) })),
);

function peerArbitrary(namespaces: readonly string[]): fc.Arbitrary<Peer> {
  return fc.oneof(
  { weight: 3, arbitrary: fc
    .record({ namespaceSelector: namespaceSelectorArbitrary(namespaces), podSelector: podSelectorArbitrary }, { requiredKeys: [] })
    .filter((p) => p.namespaceSelector !== undefined || p.podSelector !== undefined)
    .map((p) => ({ kind: 'pods' as const, ...p })) },
  { weight: 2, arbitrary: ipBlockArbitrary.map((ipBlock) => ({ kind: 'ipBlock' as const, ipBlock })) },
  );
}

function ruleArbitrary(namespaces: readonly string[]): fc.Arbitrary<Rule> {
  return fc.record({
    peers: fc.array(peerArbitrary(namespaces), { maxLength: 3 }),
    ports: fc.array(policyPortArbitrary, { maxLength: 2 }),
  });
}

const policyTypesArbitrary = fc.constantFrom<readonly Direction[]>(['ingress'], ['egress'], ['ingress', 'egress']);

/** A policy in one of `namespaces`, named `name`. About one in twenty carries a validation error. */
export function policyArbitrary(namespaces: readonly string[], name: string): fc.Arbitrary<NetworkPolicy> {
  return fc
    .record({
      namespace: fc.constantFrom(...namespaces),
      podSelector: podSelectorArbitrary,
      policyTypes: policyTypesArbitrary,
      ingress: fc.array(ruleArbitrary(namespaces), { maxLength: 2 }),
      egress: fc.array(ruleArbitrary(namespaces), { maxLength: 2 }),
      invalid: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    })
    .map(({ invalid, namespace, ...spec }) => ({
      namespace,
      name,
      ...spec,
      annotations: {},
      errors: invalid
        ? [{ object: `NetworkPolicy ${namespace}/${name}`, field: 'spec.ingress[0].ports[0].port', message: 'must be 1-65535' }]
        : [],
    }));
}

interface PodDraft {
  readonly namespace: number;
  readonly labels: Labels;
  readonly hostNetwork: boolean;
  readonly node: number;
  readonly dualStack: boolean;
  readonly ports: readonly ContainerPort[];
}

function podDraftArbitrary(namespaceCount: number, nodes: number): fc.Arbitrary<PodDraft> {
  return fc.record({
    namespace: fc.integer({ min: 0, max: namespaceCount - 1 }),
    labels: labelsArbitrary(POD_LABELS),
    hostNetwork: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    node: fc.integer({ min: 0, max: nodes - 1 }),
    dualStack: fc.boolean(),
    ports: containerPortsArbitrary,
  });
}

function podFromDraft(draft: PodDraft, index: number, namespaces: readonly string[]): Pod {
  const ips = draft.hostNetwork ? [nodeIP(draft.node)] : draft.dualStack ? [podIPv4(index), podIPv6(index)] : [podIPv4(index)];
  return {
    namespace: namespaces[draft.namespace]!,
    name: `p${index}`,
    labels: draft.labels,
    ips,
    hostNetwork: draft.hostNetwork,
    nodeName: nodeName(draft.node),
    ports: draft.ports,
  };
}

/** A whole cluster: namespaces `ns0..`, pods `p0..` with distinct IPs, policies `np0..`. */
export function clusterArbitrary(bounds: Partial<ClusterBounds> = {}): fc.Arbitrary<RandomCluster> {
  const b = { ...DEFAULT_BOUNDS, ...bounds };
  return fc.integer({ min: 1, max: b.maxNamespaces }).chain((namespaceCount) => {
    const names = Array.from({ length: namespaceCount }, (_, i) => `ns${i}`);
    return fc
      .record({
        namespaceLabels: fc.array(labelsArbitrary(NAMESPACE_LABELS), { minLength: namespaceCount, maxLength: namespaceCount }),
        pods: fc.array(podDraftArbitrary(namespaceCount, b.nodes), { minLength: 1, maxLength: b.maxPods }),
        policyCount: fc.integer({ min: 0, max: b.maxPolicies }),
      })
      .chain(({ namespaceLabels, pods, policyCount }) =>
        fc
          .tuple(...Array.from({ length: policyCount }, (_, i) => policyArbitrary(names, `np${i}`)))
          .map((policies) => ({
            namespaces: names.map((name, i): Namespace => ({ name, labels: namespaceLabels[i]!, implicit: false })),
            pods: pods.map((draft, i) => podFromDraft(draft, i, names)),
            policies,
          })),
      );
  });
}

/** A reproducible cluster without a property runner: the same (seed, size) always gives the same objects. */
export function randomCluster(seed: number, size: number): RandomCluster {
  const bounds: ClusterBounds = {
    maxNamespaces: Math.max(1, Math.ceil(size / 4)),
    maxPods: Math.max(1, size),
    maxPolicies: Math.max(1, Math.ceil(size / 2)),
    nodes: Math.max(1, Math.ceil(size / 8)),
  };
  const [cluster] = fc.sample(clusterArbitrary(bounds), { seed, numRuns: 1 });
  if (!cluster) throw new Error('fast-check produced no sample');
  return cluster;
}

/** Every place a connection can start or end: each pod at each of its IPs, and the external hosts. */
export function endpointsOf(cluster: RandomCluster): Endpoint[] {
  const pods = cluster.pods.flatMap((pod) => pod.ips.map((ip): Endpoint => ({ kind: 'pod', pod, ip })));
  return [...pods, ...EXTERNAL_IPS.map((ip): Endpoint => ({ kind: 'external', ip }))];
}

function family(ip: string): 4 | 6 {
  return ipaddr.process(ip).kind() === 'ipv4' ? 4 : 6;
}

/** Connections between endpoints of one address family, on the probe ports, any protocol. */
export function connectionArbitrary(cluster: RandomCluster): fc.Arbitrary<Connection> {
  const byFamily = [4, 6]
    .map((f) => endpointsOf(cluster).filter((e) => family(e.ip) === f))
    .filter((list) => list.length > 0);
  return fc.constantFrom(...byFamily).chain((endpoints) =>
    fc.record({
      from: fc.constantFrom(...endpoints),
      to: fc.constantFrom(...endpoints),
      port: fc.constantFrom(...PROBE_PORTS),
      protocol: protocolArbitrary,
    }),
  );
}

/** Addresses around every template range, in several spellings (IPv4-mapped IPv6 included). */
export const addressArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((n) => `10.244.0.${n}`),
  fc.integer({ min: 0, max: 40 }).map((n) => `::ffff:10.244.0.${n}`),
  fc.integer({ min: 0, max: 40 }).map((n) => `fd00::${n.toString(16)}`),
  fc.integer({ min: 0, max: 20 }).map((n) => `2001:db8::${n.toString(16)}`),
  fc.constantFrom('10.243.255.255', '10.245.0.0', '10.255.255.255', '11.0.0.0', '192.168.0.1', '203.0.113.7', '8.8.8.8', 'fd00:0:0:1::', '::', '::1', '255.255.255.255', '0.0.0.0'),
);

/** A cluster and a batch of connections in it. */
export function clusterWithConnections(bounds: Partial<ClusterBounds> = {}, maxConnections = 20) {
  return clusterArbitrary(bounds).chain((cluster) =>
    fc.record({ cluster: fc.constant(cluster), connections: fc.array(connectionArbitrary(cluster), { minLength: 1, maxLength: maxConnections }) }),
  );
}
