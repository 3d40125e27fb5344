// The sample of allowed connections on real packets, and the advisor fed from it. Lab agents run with
// `--monitor-allowed`, reading the cluster from the lab's API server, with the seeds' three-tier pods spread over
// two nodes and no policy. The demo's traffic (frontend -> backend 8080, backend -> database 3306, IPv4 and IPv6)
// must show in each node's GET /flows, as egress on the client's node and ingress on the server's. Then
// `bulkhead advise --cluster`, run as a process inside a node, finds both agents through their pods (namespace
// bulkhead-system, hostNetwork), reads their flows, and proposes policies which, applied, keep those connections
// and drop frontend -> database, a connection nobody made; a dropped connection never enters the flow store.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlowRecord, readFlowLines } from '../../src/advise/flow-record.js';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS, loadManifests } from '../../src/model/index.js';
import { BUILT_CLI } from '../lab/agents.js';
import { type Cluster, type PodDeclaration, type Probe, type Scenario, requireTools, startCluster } from './harness.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const THREE_TIER = join(REPO, 'examples', 'three-tier', 'pods.yaml');
const AGENT = 'http://127.0.0.1:9650';
const NODE_OF: Readonly<Record<string, string>> = { 'default/frontend': 'node1', 'default/database': 'node1', 'default/backend': 'node2' };

let cluster: Cluster | undefined;
let scenario: (policies: readonly string[]) => Scenario;

beforeAll(async () => {
  requireTools(['curl', 'tcpdump']);
  const loaded = await loadManifests([THREE_TIER], { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS });
  expect(loaded.errors).toEqual([]);
  cluster = await startCluster({ source: 'api', agentArgs: ['--monitor-allowed', '200/second'], probeTimeoutMs: 600 });
  const lab = cluster;
  const demoPods: PodDeclaration[] = loaded.pods
    .filter((pod) => pod.namespace === 'default')
    .map((pod) => ({ namespace: pod.namespace, name: pod.name, node: NODE_OF[`${pod.namespace}/${pod.name}`]!, labels: pod.labels, ports: pod.ports }));
  // The agents as the DaemonSet runs them: how `advise --cluster` finds them (src/cli/agent-discovery.ts).
  const agentPods = lab.lab.nodes.map((node): PodDeclaration => ({
    namespace: 'bulkhead-system',
    name: `bulkhead-${node.name}`,
    node: node.name,
    hostNetwork: true,
    labels: { 'app.kubernetes.io/name': 'bulkhead' },
  }));
  scenario = (policies) => ({
    namespaces: [...loaded.namespaces.filter((ns) => !ns.implicit).map((ns) => ({ name: ns.name, labels: ns.labels })), { name: 'bulkhead-system' }],
    pods: [...demoPods, ...agentPods],
    policies,
  });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
});

function live(): Cluster {
  if (!cluster) throw new Error('the lab did not start');
  return cluster;
}

async function flowsOf(nodeName: string): Promise<FlowRecord[]> {
  const { stdout } = await run('ip', ['netns', 'exec', live().lab.node(nodeName).netns, 'curl', '-sS', '--fail-with-body', '--max-time', '10', `${AGENT}/flows?namespace=default&since=1h`]);
  const reading = readFlowLines(stdout);
  if (!reading.ok) throw new Error(`/flows of ${nodeName}, line ${reading.line}: ${reading.message}`);
  return [...reading.records];
}

/** The records /monitor holds for the query (recent=1), read for a second: the stream itself never ends. */
async function monitorRecords(nodeName: string, query: string): Promise<FlowRecord[]> {
  const curl = await run('ip', ['netns', 'exec', live().lab.node(nodeName).netns, 'curl', '-sSN', '--max-time', '1', `${AGENT}/monitor?recent=1&${query}`]).catch(
    (error: { code?: number; stdout?: string }) => {
      // 28: the --max-time that ends the stream.
      if (error.code === 28 && error.stdout !== undefined) return { stdout: error.stdout };
      throw error;
    },
  );
  const reading = readFlowLines(curl.stdout);
  if (!reading.ok) throw new Error(`/monitor of ${nodeName}, line ${reading.line}: ${reading.message}`);
  return [...reading.records];
}

const flowText = (r: Pick<FlowRecord, 'direction' | 'from' | 'to' | 'port' | 'protocol'>) => `${r.direction} ${r.from} -> ${r.to} ${r.port}/${r.protocol}`;

async function until<T>(what: () => string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what()}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const tcp = (from: string, to: string, port: number, family: 4 | 6 = 4): Probe => ({ from, to, port, protocol: 'TCP', family });
const observed = [tcp('default/frontend', 'default/backend', 8080), tcp('default/frontend', 'default/backend', 8080, 6), tcp('default/backend', 'default/database', 3306), tcp('default/backend', 'default/database', 3306, 6)];

describe('allowed flows sampled by the agents, and the advisor fed from them', () => {
  it('keeps the demo\'s connections in each node\'s /flows, and `bulkhead advise --cluster` proposes policies that keep them and drop the rest', async () => {
    const lab = live();
    await lab.apply(scenario([]));
    const before = await lab.probe(observed);
    expect(before.map((r) => r.outcome)).toEqual(['connected', 'connected', 'connected', 'connected']);

    // Egress on the client's node, ingress on the server's; each flow once however many packets or families.
    const expected: Record<string, string[]> = {
      node1: ['egress default/frontend -> default/backend 8080/TCP', 'ingress default/backend -> default/database 3306/TCP'],
      node2: ['egress default/backend -> default/database 3306/TCP', 'ingress default/frontend -> default/backend 8080/TCP'],
    };
    for (const node of ['node1', 'node2']) {
      let last: FlowRecord[] = [];
      const flows = await until(
        () => `the demo's flows in /flows of ${node} (has: ${last.map(flowText).join('; ') || 'nothing'})`,
        async () => {
          last = await flowsOf(node);
          const texts = last.map(flowText);
          return expected[node]!.every((text) => texts.includes(text)) ? last : undefined;
        },
      );
      const demo = flows.filter((r) => expected[node]!.includes(flowText(r)));
      expect(demo.map(flowText).sort()).toEqual(expected[node]);
      expect(demo.every((r) => r.node === node && r.verdict === 'allowed' && Date.now() - Date.parse(r.time) < 120_000)).toBe(true);
    }

    // The same records in the verdict stream, as `bulkhead monitor --verdict allowed` reads it.
    const streamed = await monitorRecords('node2', 'verdict=allowed&pod=default/backend');
    expect(streamed.map(flowText)).toContain('ingress default/frontend -> default/backend 8080/TCP');
    expect(streamed.every((r) => r.verdict === 'allowed')).toBe(true);

    // The advisor, as an operator runs it on a node: every agent of the cluster, found through the API server.
    const node1 = lab.lab.node('node1');
    const advice = await run('ip', ['netns', 'exec', node1.netns, process.execPath, BUILT_CLI, 'advise', '-n', 'default', '--since', '1h', '--cluster', '--kubeconfig', lab.api!.kubeconfig], { timeout: 60_000 });
    expect(advice.stderr).toMatch(/^read \d+ flow records of namespace default from 2 agents\n/);
    expect(advice.stdout).toContain('name: default-deny');

    await lab.apply(scenario([advice.stdout]));
    const blocked = [tcp('default/frontend', 'default/database', 3306), tcp('default/frontend', 'default/database', 5432), tcp('default/database', 'default/backend', 8080)];
    const probedAt = Date.now();
    const after = await lab.probe([...observed, ...blocked]);
    expect(after.map((r) => `${flowText({ direction: 'egress', from: String(r.probe.from), to: String(r.probe.to), port: r.probe.port, protocol: r.probe.protocol })} v${r.probe.family}: ${r.outcome}`)).toEqual([
      ...observed.map((p) => `egress ${p.from} -> ${String(p.to)} ${p.port}/TCP v${p.family}: connected`),
      ...blocked.map((p) => `egress ${p.from} -> ${String(p.to)} ${p.port}/TCP v${p.family}: timeout`),
    ]);

    // The allowed probes after the proposal were sampled again; the dropped ones never were.
    const node2Flows = await until(
      () => 'frontend -> backend seen again on node2',
      async () => {
        const flows = await flowsOf('node2');
        return flows.some((r) => r.from === 'default/frontend' && r.to === 'default/backend' && Date.parse(r.time) >= probedAt) ? flows : undefined;
      },
    );
    const dropped = [...node2Flows, ...(await flowsOf('node1'))].filter((r) => (r.from === 'default/frontend' && r.to === 'default/database') || (r.from === 'default/database' && r.to === 'default/backend'));
    expect(dropped.map(flowText)).toEqual([]);
  }, 240_000);
});
