// The advisor case by case: reading flow records, which flows count, how workloads are named, how rules are cut,
// and the golden proposal for the three-tier demo's recorded flows, checked against the semantics.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type FlowRecord,
  checkProposal,
  flowConnection,
  flowName,
  newestRecordTime,
  observedFlows,
  parseDuration,
  propose,
  proposalNotes,
  readFlowLines,
  renderJson,
  renderYaml,
  withProposal,
  workloadOf,
} from '../../src/advise/index.js';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS, loadManifests, parseManifests } from '../../src/model/index.js';
import { connectionVerdict } from '../../src/policy/index.js';
import { lint } from '../../src/policy/lint/index.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { at, connection, containerPort, external, namespace, pod, snapshotOf } from '../support/builders.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const THREE_TIER = join(REPO, 'examples', 'three-tier');
const FIXTURE = join(REPO, 'test', 'fixtures', 'flows', 'three-tier.jsonl');
const GOLDEN = join(REPO, 'test', 'fixtures', 'flows', 'three-tier.default.yaml');

let n = 0;
function record(from: string, to: string, port: number, protocol: FlowRecord['protocol'] = 'TCP', extra: Partial<FlowRecord> = {}): FlowRecord {
  n++;
  return {
    time: `2026-11-23T21:${String(n % 60).padStart(2, '0')}:00Z`,
    node: 'node1',
    direction: 'egress',
    from,
    to,
    port,
    protocol,
    verdict: 'allowed',
    policies: [],
    ...extra,
  };
}

function proposalFor(snapshot: Snapshot, ns: string, records: readonly FlowRecord[]) {
  return propose(ns, observedFlows(snapshot, records, { namespace: ns }).flows);
}

const web = pod('shop/web-7d9f-abcde', { labels: { app: 'web', 'pod-template-hash': '7d9f' }, ips: ['10.244.0.2', 'fd00::2'], ports: [containerPort(8080, 'http')] });
const web2 = pod('shop/web-7d9f-fghij', { labels: { app: 'web', 'pod-template-hash': '7d9f' }, ips: ['10.244.0.3'], ports: [containerPort(8080, 'http')] });
const api = pod('shop/api-0', { labels: { app: 'api', 'statefulset.kubernetes.io/pod-name': 'api-0' }, ips: ['10.244.0.4'], ports: [containerPort(9000)] });
const cache = pod('shop/cache', { labels: { app: 'cache' }, ips: ['10.244.0.5'], ports: [containerPort(6379, 'redis')] });
const prom = pod('monitoring/prometheus', { labels: { 'app.kubernetes.io/name': 'prometheus' }, ips: ['10.244.1.2'] });
const dns = pod('kube-system/coredns-1', { labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': 'x1' }, ips: ['10.244.1.3'], ports: [containerPort(53, 'dns', 'UDP'), containerPort(53, 'dns-tcp', 'TCP')] });
const shop = snapshotOf({ namespaces: [namespace('shop'), namespace('monitoring'), namespace('kube-system')], pods: [web, web2, api, cache, prom, dns] });

describe('readFlowLines', () => {
  it('reads one record a line and skips blank lines', () => {
    const text = `${JSON.stringify(record('shop/web-7d9f-abcde', 'shop/api-0', 9000))}\n\n${JSON.stringify(record('shop/api-0', '203.0.113.9', 443))}\n`;
    const reading = readFlowLines(text);
    expect(reading.ok && reading.records.map((r) => `${r.from} ${r.to}`)).toEqual(['shop/web-7d9f-abcde shop/api-0', 'shop/api-0 203.0.113.9']);
  });

  it('names the line and the field of the first bad record', () => {
    const good = JSON.stringify(record('shop/a', 'shop/b', 80));
    expect(readFlowLines(`${good}\n{"time": 1`)).toMatchObject({ ok: false, line: 2, field: '' });
    expect(readFlowLines(`${good}\n${JSON.stringify({ ...record('shop/a', 'shop/b', 80), port: 0 })}`)).toMatchObject({ ok: false, line: 2, field: 'port' });
    expect(readFlowLines(JSON.stringify({ ...record('shop/a', 'shop/b', 80), protocol: 'ICMP' }))).toMatchObject({ ok: false, line: 1, field: 'protocol' });
    expect(readFlowLines(JSON.stringify({ ...record('shop/a', 'shop/b', 80), to: 'not an endpoint' }))).toMatchObject({ ok: false, field: 'to' });
    expect(readFlowLines(JSON.stringify({ ...record('shop/a', 'shop/b', 80), time: 'yesterday' }))).toMatchObject({ ok: false, field: 'time' });
  });
});

describe('parseDuration', () => {
  it('reads s, m, h, d and their sums; refuses anything else', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    for (const bad of ['', '1', 'h', '1h 30m', '-1h', '1.5h', '1w']) expect(parseDuration(bad), bad).toBeUndefined();
  });
});

describe('workloadOf', () => {
  it('picks the labels that name the workload, never those of one pod or revision', () => {
    expect(workloadOf(web).selector.matchLabels).toEqual({ app: 'web' });
    expect(workloadOf(api).selector.matchLabels).toEqual({ app: 'api' });
    expect(workloadOf(dns).selector.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
    const helm = pod('db/pg-0', { labels: { 'app.kubernetes.io/name': 'postgresql', 'app.kubernetes.io/instance': 'orders', 'app.kubernetes.io/component': 'primary', app: 'legacy', 'helm.sh/chart': 'postgresql-1' } });
    expect(workloadOf(helm).selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'postgresql', 'app.kubernetes.io/instance': 'orders', 'app.kubernetes.io/component': 'primary' });
    const bare = pod('db/job-x', { labels: { role: 'batch', 'controller-uid': 'u1', 'batch.kubernetes.io/controller-uid': 'u1' } });
    expect(workloadOf(bare)).toEqual({ selector: { matchLabels: { role: 'batch' }, matchExpressions: [] }, name: 'batch' });
    expect(workloadOf(pod('db/naked')).selector.matchLabels).toEqual({});
  });
});

describe('observedFlows', () => {
  it('counts a connection once however many nodes report it, and keeps only allowed records touching the namespace', () => {
    const records = [
      record('shop/web-7d9f-abcde', 'shop/api-0', 9000),
      record('shop/web-7d9f-abcde', 'shop/api-0', 9000, 'TCP', { direction: 'ingress', node: 'node2' }),
      record('shop/web-7d9f-abcde', 'shop/api-0', 9000, 'TCP', { verdict: 'dropped', policies: ['shop/x'] }),
      record('shop/web-7d9f-abcde', 'shop/cache', 6379, 'TCP', { verdict: 'audit', policies: ['shop/x'] }),
      record('monitoring/prometheus', 'kube-system/coredns-1', 53, 'UDP'),
    ];
    const observed = observedFlows(shop, records, { namespace: 'shop' });
    expect(observed.flows.map(flowName)).toEqual(['shop/web-7d9f-abcde -> shop/api-0 9000/TCP']);
    expect(observed.flows[0]?.records).toBe(2);
    expect(observed.skippedByVerdict).toBe(2);
  });

  it('resolves a pod\'s IP to the pod, keeps other addresses canonical, and lists pods it does not know', () => {
    const records = [record('10.244.0.4', 'shop/cache', 6379), record('shop/api-0', '2001:DB8:0::9', 443), record('shop/gone-1', 'shop/api-0', 9000)];
    const observed = observedFlows(shop, records, { namespace: 'shop' });
    expect(observed.flows.map(flowName)).toEqual(['shop/api-0 -> shop/cache 6379/TCP', 'shop/api-0 -> 2001:db8::9 443/TCP']);
    expect(observed.unknownPods).toEqual(['shop/gone-1']);
  });

  it('keeps records at or after `since` only, and counts `since` from the newest record', () => {
    const records = [record('shop/api-0', 'shop/cache', 6379, 'TCP', { time: '2026-11-23T20:00:00Z' }), record('shop/web-7d9f-abcde', 'shop/api-0', 9000, 'TCP', { time: '2026-11-23T22:00:00Z' })];
    const newest = newestRecordTime(records)!;
    expect(newest).toBe(Date.parse('2026-11-23T22:00:00Z'));
    const observed = observedFlows(shop, records, { namespace: 'shop', since: newest - parseDuration('1h')! });
    expect(observed.flows.map(flowName)).toEqual(['shop/web-7d9f-abcde -> shop/api-0 9000/TCP']);
  });
});

describe('propose', () => {
  it('writes a default deny, then one policy per workload with both ends of in-namespace flows', () => {
    const proposal = proposalFor(shop, 'shop', [record('shop/web-7d9f-abcde', 'shop/api-0', 9000), record('shop/web-7d9f-fghij', 'shop/api-0', 9000)]);
    expect(proposal.policies.map((p) => p.policy.name)).toEqual(['default-deny', 'allow-api', 'allow-web']);
    const [deny, allowApi, allowWeb] = proposal.policies.map((p) => p.policy);
    expect(deny).toMatchObject({ podSelector: { matchLabels: {} }, policyTypes: ['ingress', 'egress'], ingress: [], egress: [] });
    expect(allowApi).toMatchObject({
      podSelector: { matchLabels: { app: 'api' } },
      policyTypes: ['ingress'],
      ingress: [{ peers: [{ kind: 'pods', podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 9000 }] }],
    });
    expect(allowWeb).toMatchObject({ policyTypes: ['egress'], egress: [{ peers: [{ kind: 'pods', podSelector: { matchLabels: { app: 'api' } } }] }] });
    // Both replicas of web are one workload: the rule covers the flows of each.
    expect(proposal.policies[1]?.rules[0]?.flows.map(flowName)).toEqual(['shop/web-7d9f-abcde -> shop/api-0 9000/TCP', 'shop/web-7d9f-fghij -> shop/api-0 9000/TCP']);
  });

  it('names ports the destination names, reaches other namespaces by their name label, and addresses by /32 or /128', () => {
    const proposal = proposalFor(shop, 'shop', [
      record('shop/api-0', 'shop/cache', 6379),
      record('monitoring/prometheus', 'shop/web-7d9f-abcde', 8080),
      record('shop/web-7d9f-abcde', '203.0.113.9', 443),
      record('shop/web-7d9f-abcde', '2001:db8::9', 443),
    ]);
    const byName = new Map(proposal.policies.map((p) => [p.policy.name, p.policy]));
    expect(byName.get('allow-cache')?.ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: 'redis' }]);
    expect(byName.get('allow-web')?.ingress[0]?.peers).toEqual([
      {
        kind: 'pods',
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' }, matchExpressions: [] },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' }, matchExpressions: [] },
      },
    ]);
    expect(byName.get('allow-web')?.ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: 'http' }]);
    // Same ports: one rule for both addresses.
    expect(byName.get('allow-web')?.egress).toEqual([
      {
        peers: [
          { kind: 'ipBlock', ipBlock: { cidr: '203.0.113.9/32', except: [] } },
          { kind: 'ipBlock', ipBlock: { cidr: '2001:db8::9/128', except: [] } },
        ],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ]);
  });

  it('gives peers with different ports rules of their own, so no peer gets another\'s port', () => {
    const proposal = proposalFor(shop, 'shop', [record('shop/web-7d9f-abcde', 'shop/api-0', 9000), record('shop/web-7d9f-abcde', 'shop/cache', 6379), record('shop/web-7d9f-abcde', '203.0.113.9', 9000)]);
    const allowWeb = proposal.policies.find((p) => p.policy.name === 'allow-web')!;
    expect(allowWeb.policy.egress.map((r) => [r.peers.length, r.ports.map((p) => p.port)])).toEqual([
      [2, [9000]],
      [1, ['redis']],
    ]);
    const applied = withProposal(shop, proposalFor(shop, 'shop', [record('shop/web-7d9f-abcde', 'shop/api-0', 9000), record('shop/web-7d9f-abcde', 'shop/cache', 6379)]));
    expect(connectionVerdict(applied, connection(at(web), at(cache), 9000)).allowed).toBe(false);
    expect(connectionVerdict(applied, connection(at(web), at(api), 6379)).allowed).toBe(false);
  });

  it('opens DNS (UDP and TCP 53) to the resolvers for the whole namespace once any pod looked a name up', () => {
    const proposal = proposalFor(shop, 'shop', [record('shop/api-0', 'kube-system/coredns-1', 53, 'UDP')]);
    const allowDns = proposal.policies.find((p) => p.purpose === 'dns')!.policy;
    expect(allowDns).toMatchObject({ name: 'allow-dns', podSelector: { matchLabels: {} }, policyTypes: ['egress'] });
    expect(allowDns.egress).toEqual([
      {
        peers: [
          {
            kind: 'pods',
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' }, matchExpressions: [] },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' }, matchExpressions: [] },
          },
        ],
        ports: [
          { protocol: 'TCP', port: 53 },
          { protocol: 'UDP', port: 53 },
        ],
      },
    ]);
    const applied = withProposal(shop, proposal);
    expect(connectionVerdict(applied, connection(at(cache), at(dns), 53, 'TCP')).allowed).toBe(true);
    expect(connectionVerdict(applied, connection(at(cache), at(dns), 5353, 'UDP')).allowed).toBe(false);
    expect(proposal.policies.map((p) => p.policy.name)).toEqual(['default-deny', 'allow-dns']);
  });

  it('gives the same proposal whatever the order of the records', () => {
    const records = [
      record('shop/web-7d9f-abcde', 'shop/api-0', 9000),
      record('shop/api-0', 'shop/cache', 6379),
      record('monitoring/prometheus', 'shop/api-0', 9000),
      record('shop/api-0', '203.0.113.9', 443),
      record('shop/api-0', '198.51.100.1', 443),
      record('shop/cache', 'kube-system/coredns-1', 53, 'UDP'),
    ];
    const first = renderYaml(proposalFor(shop, 'shop', records));
    expect(renderYaml(proposalFor(shop, 'shop', [...records].reverse()))).toBe(first);
    expect(renderYaml(proposalFor(shop, 'shop', [records[3]!, records[0]!, records[5]!, records[1]!, records[4]!, records[2]!]))).toBe(first);
  });

  it('notes pods it cuts off, pods without workload labels, and flows of unknown pods', () => {
    const naked = pod('shop/naked', { ips: ['10.244.0.9'] });
    const snapshot = snapshotOf({ namespaces: [namespace('shop')], pods: [web, api, naked] });
    const observed = observedFlows(snapshot, [record('shop/naked', 'shop/api-0', 9000), record('shop/old-1', 'shop/api-0', 9000)], { namespace: 'shop' });
    const proposal = propose('shop', observed.flows);
    expect(proposalNotes(snapshot, observed, proposal, checkProposal(snapshot, proposal))).toEqual([
      'pod shop/old-1 is named by flow records but not in the cluster\'s objects: its flows are left out',
      'pod shop/web-7d9f-abcde: no flow observed, so the default deny cuts it off in both directions',
      'pod shop/naked has no labels naming its workload: the rules written for it apply to every pod of shop',
    ]);
  });

  it('leaves a pod talking to itself out of the rules (no policy applies to it)', () => {
    const proposal = proposalFor(shop, 'shop', [record('shop/api-0', 'shop/api-0', 9000)]);
    expect(proposal.policies.map((p) => p.policy.name)).toEqual(['default-deny']);
    expect(checkProposal(shop, proposal).map((c) => c.result)).toEqual(['allowed']);
  });

  it('reports an observed flow that the cluster\'s other policies still deny', () => {
    const denyIngress = parseManifests(
      [{ source: 'deny.yaml', text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: monitoring}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n' }],
      { defaultNamespace: 'default', podCidrs: DEFAULT_POD_CIDRS },
    ).policies;
    const snapshot = buildSnapshot({ namespaces: [...shop.namespaces.values()], pods: shop.pods, policies: denyIngress });
    const observed = observedFlows(snapshot, [record('shop/api-0', 'monitoring/prometheus', 9090)], { namespace: 'shop' });
    const proposal = propose('shop', observed.flows);
    const notes = proposalNotes(snapshot, observed, proposal, checkProposal(snapshot, proposal));
    expect(notes).toContain('flow shop/api-0 -> monitoring/prometheus 9090/TCP would still be denied (isolated by monitoring/deny): the cluster\'s other policies block it');
    expect(connectionVerdict(withProposal(snapshot, proposal), connection(at(api), external('203.0.113.9'), 443)).allowed).toBe(false);
  });
});

describe('flowConnection', () => {
  it("takes an address of a hostNetwork pod for that pod (its node's own traffic), any other for an external host", () => {
    const agent = pod('kube-system/node-agent', { hostNetwork: true, ips: ['192.168.0.5'] });
    const snapshot = snapshotOf({ namespaces: [...shop.namespaces.values()], pods: [...shop.pods, agent] });
    const records = [record('shop/api-0', '192.168.0.5', 10250), record('192.168.0.6', 'shop/api-0', 9000)];
    const flows = observedFlows(snapshot, records, { namespace: 'shop' }).flows;
    expect(flows.map((flow) => flowConnection(snapshot, flow))).toEqual([
      { from: { kind: 'pod', pod: api, ip: '10.244.0.4' }, to: { kind: 'pod', pod: agent, ip: '192.168.0.5' }, port: 10250, protocol: 'TCP' },
      { from: { kind: 'external', ip: '192.168.0.6' }, to: { kind: 'pod', pod: api, ip: '10.244.0.4' }, port: 9000, protocol: 'TCP' },
    ]);
  });
});

describe('the three-tier demo\'s recorded flows', () => {
  async function threeTier() {
    const loaded = await loadManifests([join(THREE_TIER, 'pods.yaml')], { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS });
    expect(loaded.errors).toEqual([]);
    const snapshot = buildSnapshot(loaded);
    const reading = readFlowLines(readFileSync(FIXTURE, 'utf8'));
    if (!reading.ok) throw new Error(`${FIXTURE}:${reading.line}: ${reading.message}`);
    return { snapshot, records: reading.records };
  }

  it('proposes the golden YAML, which loads back as valid policies that allow the observed flows and nothing else of the demo', async () => {
    const { snapshot, records } = await threeTier();
    const proposal = proposalFor(snapshot, 'default', records);
    const yaml = renderYaml(proposal);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, yaml);
    expect(yaml).toBe(readFileSync(GOLDEN, 'utf8'));

    const loaded = parseManifests([{ source: 'proposal.yaml', text: yaml }], { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS });
    expect(loaded.errors).toEqual([]);
    expect(loaded.policies.map((p) => p.name).sort()).toEqual(['allow-backend', 'allow-database', 'allow-dns', 'allow-frontend', 'default-deny']);
    const applied = buildSnapshot({ namespaces: [...snapshot.namespaces.values()], pods: snapshot.pods, policies: loaded.policies });

    // The classic mistakes (DNS blocked, selectors matching nothing, ...) are not in it.
    expect(lint(applied, { disable: [] })).toEqual([]);

    const pods = Object.fromEntries(snapshot.pods.map((p) => [p.name, p]));
    const allowed = (from: string, to: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
      connectionVerdict(applied, connection(at(pods[from]!), at(pods[to]!), port, protocol)).allowed;
    const toPartner = (from: string, ip: string) => connectionVerdict(applied, connection(at(pods[from]!), external(ip), 443)).allowed;
    // Observed.
    expect(allowed('frontend', 'backend', 8080)).toBe(true);
    expect(allowed('backend', 'database', 5432)).toBe(true);
    expect(toPartner('backend', '203.0.113.10')).toBe(true);
    for (const from of ['frontend', 'backend', 'database']) expect(allowed(from, 'coredns', 53, 'UDP'), from).toBe(true);
    // The stated closure: DNS over TCP too, for every pod of default.
    expect(allowed('frontend', 'coredns', 53)).toBe(true);
    // Not observed: other ports, other pairs, other namespaces, other addresses.
    expect(allowed('frontend', 'backend', 80)).toBe(false);
    expect(allowed('backend', 'database', 3306)).toBe(false);
    expect(allowed('frontend', 'database', 5432)).toBe(false);
    expect(allowed('database', 'frontend', 80)).toBe(false);
    expect(allowed('lookalike', 'backend', 8080)).toBe(false);
    expect(allowed('prometheus', 'backend', 8080)).toBe(false);
    expect(allowed('frontend', 'prometheus', 9090)).toBe(false);
    expect(toPartner('backend', '203.0.113.20')).toBe(false);
    expect(toPartner('frontend', '203.0.113.10')).toBe(false);
  });

  it('with --since 30m keeps only the flows of the newest half hour', async () => {
    const { snapshot, records } = await threeTier();
    const since = newestRecordTime(records)! - parseDuration('30m')!;
    const observed = observedFlows(snapshot, records, { namespace: 'default', since });
    expect(observed.flows.map(flowName)).toEqual(['default/backend -> default/database 5432/TCP', 'default/frontend -> default/backend 8080/TCP']);
  });

  it('renders JSON with the policies, the flows and which rule covers which flow', async () => {
    const { snapshot, records } = await threeTier();
    const json = JSON.parse(renderJson(proposalFor(snapshot, 'default', records))) as {
      namespace: string;
      flows: { from: string; to: string; records: number }[];
      policies: { metadata: { name: string } }[];
      rules: { policy: string; direction: string; rule: number; flows: string[] }[];
    };
    expect(json.namespace).toBe('default');
    expect(json.flows).toHaveLength(7);
    expect(json.policies.map((p) => p.metadata.name)).toEqual(['default-deny', 'allow-dns', 'allow-backend', 'allow-database', 'allow-frontend']);
    expect(json.rules).toContainEqual({ policy: 'allow-backend', direction: 'egress', rule: 1, flows: ['default/backend -> 203.0.113.10 443/TCP'] });
  });
});
