// The advisor's proposal enforced by real agents and probed with real packets. The flows recorded from the
// seeds' three-tier demo (test/fixtures/flows/three-tier.jsonl) become a proposal for namespace default, whose
// YAML, as `bulkhead advise` prints it, is applied to the demo's pods on the netns lab. Every observed flow must
// still connect, the closure the proposal states (DNS over TCP too) must connect, and the pairs nobody was seen
// using must be dropped: frontend -> database, database -> frontend, another node's host -> backend, the
// lookalike and Prometheus -> backend, other ports, other addresses. Before the proposal, with no policy, every
// one of those probes connects, so a drop afterwards is the proposal's doing, not a missing server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlowEnd, observedFlows, propose, readFlowLines, renderYaml } from '../../src/advise/index.js';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS, loadManifests, podKey } from '../../src/model/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { disagreements, type ExpectedProbe } from './grid.js';
import { type Cluster, type PodDeclaration, type Probe, type Scenario, type Target, startCluster } from './harness.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const THREE_TIER = join(REPO, 'examples', 'three-tier');
const FLOWS = join(REPO, 'test', 'fixtures', 'flows', 'three-tier.jsonl');

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ probeTimeoutMs: 600 });
});

afterAll(async () => {
  await cluster?.stop();
});

async function demo() {
  const loaded = await loadManifests([join(THREE_TIER, 'pods.yaml')], { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS });
  expect(loaded.errors).toEqual([]);
  const reading = readFlowLines(readFileSync(FLOWS, 'utf8'));
  if (!reading.ok) throw new Error(`${FLOWS}:${reading.line}: ${reading.message}`);
  // Flow records name pods, not addresses: the proposal made on the demo's manifests holds for the lab's pods.
  const proposal = propose('default', observedFlows(buildSnapshot(loaded), reading.records, { namespace: 'default' }).flows);
  return { loaded, proposal, yaml: renderYaml(proposal) };
}

/** The demo's pods on the lab's nodes, a hostNetwork pod on each node standing for the node, and the partner API outside. */
function scenario(loaded: Awaited<ReturnType<typeof demo>>['loaded'], node: (key: string) => string, policies: readonly string[]): Scenario {
  const pods: PodDeclaration[] = loaded.pods.map((pod) => ({ namespace: pod.namespace, name: pod.name, node: node(podKey(pod)), labels: pod.labels, ports: pod.ports }));
  const hosts = cluster.lab.nodes.map((n): PodDeclaration => ({ namespace: 'kube-system', name: `node-exporter-${n.name}`, node: n.name, hostNetwork: true }));
  return {
    namespaces: loaded.namespaces.filter((ns) => !ns.implicit).map((ns) => ({ name: ns.name, labels: ns.labels })),
    pods: [...pods, ...hosts],
    policies,
    outside: [{ port: 443, protocol: 'TCP' }],
  };
}

const LAYOUTS = [
  {
    name: 'spread over two nodes',
    node: (key: string) => (['default/frontend', 'kube-system/coredns', 'other/lookalike'].includes(key) ? 'node1' : 'node2'),
    /** A host on another node than the backend: its traffic crosses the backend's ingress. */
    foreignHost: 'kube-system/node-exporter-node1',
  },
  { name: 'all on one node', node: () => 'node1', foreignHost: 'kube-system/node-exporter-node2' },
];

function target(end: FlowEnd): Target {
  return end.kind === 'pod' ? podKey(end.pod) : { ip: end.ip };
}

const tcp = (from: string, to: Target, port: number): Omit<Probe, 'family'> => ({ from, to, port, protocol: 'TCP' });

/** Probes in both families between pods; one family for an address. */
function inFamilies(probes: readonly Omit<Probe, 'family'>[], expected: ExpectedProbe['expected']): ExpectedProbe[] {
  return probes.flatMap((probe) => {
    const families: (4 | 6)[] = typeof probe.to === 'string' ? [4, 6] : [probe.to.ip.includes(':') ? 6 : 4];
    return families.map((family) => ({ probe: { ...probe, family }, expected }));
  });
}

describe('advise: the proposal from the three-tier demo\'s flows, on real packets', () => {
  for (const layout of LAYOUTS) {
    it(`keeps every observed flow and the stated closure, and drops the rest (${layout.name})`, async () => {
      const { loaded, proposal, yaml } = await demo();
      const observed = proposal.flows.map((flow) => ({ from: podKey((flow.from as FlowEnd & { kind: 'pod' }).pod), to: target(flow.to), port: flow.port, protocol: flow.protocol }));
      expect(observed).toHaveLength(7);
      const closure = [
        { from: 'default/frontend', to: 'kube-system/coredns', port: 53, protocol: 'TCP' as const },
        { from: 'default/database', to: 'kube-system/coredns', port: 53, protocol: 'TCP' as const },
      ];
      const blocked = [
        tcp('default/frontend', 'default/database', 5432),
        tcp('default/frontend', 'default/database', 3306),
        tcp('default/database', 'default/frontend', 80),
        tcp('default/database', 'default/backend', 8080),
        tcp('default/backend', 'default/frontend', 80),
        tcp('default/frontend', 'default/backend', 80),
        tcp('default/backend', 'default/database', 3306),
        tcp(layout.foreignHost, 'default/backend', 8080),
        tcp('other/lookalike', 'default/backend', 8080),
        tcp('monitoring/prometheus', 'default/backend', 8080),
        tcp('default/frontend', { ip: '203.0.113.10' }, 443),
        tcp('default/frontend', 'monitoring/prometheus', 9090),
      ];
      const open = [...inFamilies(observed, 'connected'), ...inFamilies(closure, 'connected')];
      const shut = inFamilies(blocked, 'timeout');

      // No policy: everything answers.
      await cluster.apply(scenario(loaded, layout.node, []));
      const before = await cluster.probe([...open, ...shut].map((e) => e.probe));
      expect(before.filter((r) => r.outcome !== 'connected').map((r) => `${r.probe.from} -> ${JSON.stringify(r.probe.to)} ${r.probe.port}/${r.probe.protocol} v${r.probe.family}: ${r.outcome}`)).toEqual([]);

      // The proposal, as `bulkhead advise -o yaml` prints it.
      await cluster.apply(scenario(loaded, layout.node, [yaml]));
      const expected = [...open, ...shut];
      expect(disagreements(expected, await cluster.probe(expected.map((e) => e.probe)))).toEqual([]);
    });
  }
});
