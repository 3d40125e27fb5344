// A deterministic, realistic cluster for benchmarks: namespaces of apps in tiers, policies in the shapes the seed
// articles teach (default deny, allow from a tier, cross-namespace monitoring, DNS egress, ipBlock egress).
import type { LabelSelector, Namespace, NetworkPolicy, Pod, Rule } from '../src/model/types.js';

export interface GeneratedCluster {
  readonly namespaces: Namespace[];
  readonly pods: Pod[];
  readonly policies: NetworkPolicy[];
}

const TIERS = ['frontend', 'backend', 'database'] as const;

function sel(matchLabels: Record<string, string>): LabelSelector {
  return { matchLabels, matchExpressions: [] };
}

/** `nodes` spreads pods round-robin over node-0..node-(nodes-1). */
export function generateCluster(options: { pods: number; policies: number; namespaces: number; nodes?: number }): GeneratedCluster {
  const nodes = options.nodes ?? 20;
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
      nodeName: `node-${i % nodes}`,
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
