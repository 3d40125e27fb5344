// A deterministic, realistic cluster for benchmarks: namespaces of apps in tiers, policies in the shapes the seed
// articles teach (default deny, allow from a tier, cross-namespace monitoring, DNS egress, ipBlock egress).
import type { LabelSelector, Namespace, NetworkPolicy, Pod, Rule } from '../src/model/types.js';

export interface GeneratedCluster {
  readonly namespaces: Namespace[];
  readonly pods: Pod[];
  readonly policies: NetworkPolicy[];
}

const TIERS = ['frontend', 'backend', 'database'] as const;

/** MurmurHash3's finalizer: a bijection of 32-bit integers whose every output bit depends on every input bit. */
function scatter(i: number): number {
  let h = i >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function sel(matchLabels: Record<string, string>): LabelSelector {
  return { matchLabels, matchExpressions: [] };
}

/**
 * How pods go to node-0..node-(nodes-1), evenly either way:
 * - `round-robin`: pod i on node i % nodes. When the namespace and node counts share a factor, a node holds the
 *   pods of few namespaces (100 namespaces on 100 nodes: one namespace a node), so a node compiles few policies.
 * - `scattered`: each round of `nodes` pods still gives every node one, at a place in the round that a hash of the
 *   round number shifts, so a node's pods are unrelated to namespace, tier or app, as on a real cluster.
 */
export type Placement = 'round-robin' | 'scattered';

export interface ClusterOptions {
  readonly pods: number;
  readonly policies: number;
  readonly namespaces: number;
  /** Default 20. */
  readonly nodes?: number;
  /** Default round-robin. */
  readonly placement?: Placement;
}

function nodeIndex(pod: number, nodes: number, placement: Placement): number {
  switch (placement) {
    case 'round-robin':
      return pod % nodes;
    case 'scattered':
      return (pod + scatter(Math.floor(pod / nodes))) % nodes;
    default: {
      const unreachable: never = placement;
      throw new Error(`unknown placement ${String(unreachable)}`);
    }
  }
}

export function generateCluster(options: ClusterOptions): GeneratedCluster {
  const nodes = options.nodes ?? 20;
  const placement = options.placement ?? 'round-robin';
  const namespaces: Namespace[] = [];
  for (let n = 0; n < options.namespaces; n++) {
    const name = `ns-${n}`;
    namespaces.push({ name, implicit: false, labels: { 'kubernetes.io/metadata.name': name, team: `team-${n % 7}` } });
  }
  namespaces.push({ name: 'kube-system', implicit: false, labels: { 'kubernetes.io/metadata.name': 'kube-system' } });

  const pods: Pod[] = [];
  for (let i = 0; i < options.pods; i++) {
    const ns = `ns-${i % options.namespaces}`;
    const tier = TIERS[i % TIERS.length]!;
    const app = `app-${Math.floor(i / options.namespaces) % 12}`;
    pods.push({
      namespace: ns,
      name: `${app}-${tier}-${i}`,
      labels: { app, tier, 'prometheus.io/scrape': i % 5 === 0 ? 'true' : 'false' },
      ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `fd00:10:244::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`],
      hostNetwork: false,
      nodeName: `node-${nodeIndex(i, nodes, placement)}`,
      ports: [
        { name: 'http', containerPort: tier === 'database' ? 5432 : 8080, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
      ],
    });
  }
  pods.push({
    namespace: 'kube-system',
    name: 'coredns',
    labels: { 'k8s-app': 'kube-dns' },
    ips: ['10.255.0.10', 'fd00:10:255::a'],
    hostNetwork: false,
    nodeName: 'node-0',
    ports: [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    ],
  });

  const policies: NetworkPolicy[] = [];
  const rule = (r: Partial<Rule>): Rule => ({ peers: r.peers ?? [], ports: r.ports ?? [] });
  for (let p = 0; p < options.policies; p++) {
    const namespace = `ns-${p % options.namespaces}`;
    const shape = Math.floor(p / options.namespaces) % 5;
    const base = { namespace, name: `policy-${p}`, annotations: {}, errors: [] as const };
    const app = `app-${p % 12}`;
    switch (shape) {
      case 0: // default deny both directions, plus DNS
        policies.push({ ...base, podSelector: sel({}), policyTypes: ['ingress', 'egress'], ingress: [], egress: [
          rule({ peers: [{ kind: 'pods', namespaceSelector: sel({ 'kubernetes.io/metadata.name': 'kube-system' }), podSelector: sel({ 'k8s-app': 'kube-dns' }) }],
            ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }),
        ] });
        break;
      case 1: // backend accepts frontend on the named port
        policies.push({ ...base, podSelector: sel({ app, tier: 'backend' }), policyTypes: ['ingress'], egress: [], ingress: [
          rule({ peers: [{ kind: 'pods', podSelector: sel({ tier: 'frontend' }) }], ports: [{ protocol: 'TCP', port: 'http' }] }),
        ] });
        break;
      case 2: // database accepts backend; backend egress to database
        policies.push({ ...base, podSelector: sel({ tier: 'database' }), policyTypes: ['ingress'], egress: [], ingress: [
          rule({ peers: [{ kind: 'pods', podSelector: { matchLabels: { tier: 'backend' }, matchExpressions: [{ key: 'app', operator: 'In', values: [app, 'app-1'] }] } }],
            ports: [{ protocol: 'TCP', port: 5432 }] }),
        ] });
        break;
      case 3: // monitoring scrape from other namespaces of the same team
        policies.push({ ...base, podSelector: sel({ 'prometheus.io/scrape': 'true' }), policyTypes: ['ingress'], egress: [], ingress: [
          rule({ peers: [{ kind: 'pods', namespaceSelector: sel({ team: `team-${p % 7}` }), podSelector: sel({ app: 'app-0' }) }],
            ports: [{ protocol: 'TCP', port: 9000, endPort: 9100 }] }),
        ] });
        break;
      default: // egress to an external range with an exception
        policies.push({ ...base, podSelector: sel({ app }), policyTypes: ['egress'], ingress: [], egress: [
          rule({ peers: [{ kind: 'ipBlock', ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }], ports: [{ protocol: 'TCP', port: 443 }] }),
          rule({ peers: [{ kind: 'pods', namespaceSelector: sel({}) }] }),
        ] });
    }
  }
  return { namespaces, pods, policies };
}
