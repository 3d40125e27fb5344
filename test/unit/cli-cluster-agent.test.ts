// explain --cluster adds the view of the agent on each node the explanation is about: the agent found is the pod of
// bulkhead-system labelled app.kubernetes.io/name=bulkhead on that node, asked at its address; an agent missing or
// unreachable costs one line on stderr, never the explanation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderExplanation } from '../../src/cli/explain.js';
import { explainConnectionQuery, explainPodQuery } from '../../src/explain/index.js';
import { createApiClient, loadKubeConfig } from '../../src/kube/connection.js';
import { readCluster } from '../../src/kube/read-cluster.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { rawNamespace, rawPod, rawPolicy } from '../kube/objects.js';
import { bulkhead, bulkheadInProcess, type RecordedAgent, startRecordedAgent } from './cli-cluster-helpers.js';

const AGENT_LABELS = { 'app.kubernetes.io/name': 'bulkhead' };
const AGENT_CONTEXT = { defaultNamespace: 'default', where: 'known to this agent' };
// Loopback addresses stand for the nodes' addresses: every 127/8 address is this host's.
const NODE_ADDRESSES: Record<string, string> = { 'node-1': '127.0.0.2', 'node-2': '127.0.0.3', 'node-3': '127.0.0.4' };
const DECOYS = ['127.0.0.5', '127.0.0.6'];

function populate(server: FakeApiServer): void {
  server.create('namespaces', rawNamespace('default'));
  server.create('namespaces', rawNamespace('bulkhead-system'));
  server.create('namespaces', rawNamespace('monitoring'));
  const app = (name: string, node: string, ip: string, port: number) =>
    rawPod('default', name, { labels: { app: name }, nodeName: node, ips: [ip], ports: [{ containerPort: port }] });
  server.create('pods', app('frontend', 'node-1', '10.244.1.10', 80));
  server.create('pods', app('backend', 'node-2', '10.244.2.10', 8080));
  server.create('pods', app('db', 'node-3', '10.244.3.10', 5432));
  server.create('pods', app('orphan', 'node-4', '10.244.4.10', 80));
  for (const [node, ip] of Object.entries(NODE_ADDRESSES)) {
    server.create('pods', rawPod('bulkhead-system', `bulkhead-${node}`, { labels: AGENT_LABELS, nodeName: node, ips: [ip], hostNetwork: true }));
  }
  // On node-2 too, but not the agent: a pod of bulkhead-system without the label, and the label in another namespace.
  server.create('pods', rawPod('bulkhead-system', 'bulkhead-webhook', { labels: { 'app.kubernetes.io/name': 'bulkhead-webhook' }, nodeName: 'node-2', ips: [DECOYS[0]!], hostNetwork: true }));
  server.create('pods', rawPod('monitoring', 'bulkhead-exporter', { labels: AGENT_LABELS, nodeName: 'node-2', ips: [DECOYS[1]!], hostNetwork: true }));
  server.create('networkpolicies', rawPolicy('default', 'backend-from-frontend', {
    podSelector: { matchLabels: { app: 'backend' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 8080 }] }],
  }));
}

/** What an agent of `node` knows of a local pod: its ingress chain when isolated, and some drops. */
function podView(snapshot: Snapshot, pod: string) {
  const isolated = explainPodQuery(snapshot, pod, AGENT_CONTEXT);
  const ingress = isolated.ok && isolated.value.ingress.isolated;
  const rules = ingress ? [`counter name "drop_in_${pod.replace('/', '_')}" drop`] : [];
  return {
    rulesInKernel: { ingress, egress: false },
    kernelRules: { ingress: rules, egress: [] },
    drops: { ingress: { packets: ingress ? 3 : 0, bytes: ingress ? 180 : 0 }, egress: { packets: 0, bytes: 0 } },
  };
}

/** An agent's /explain over `snapshot`, for the node it serves, as the contract shapes it. */
function agentAnswers(node: string, snapshot: () => Snapshot) {
  return (query: URLSearchParams): { status: number; body: unknown } => {
    const view = snapshot();
    const local = (name: string) => view.pod(name)?.nodeName === node;
    const pod = query.get('pod');
    if (pod !== null) {
      const result = explainPodQuery(view, pod, AGENT_CONTEXT);
      if (!result.ok) return { status: 404, body: { error: result.error.message } };
      return { status: 200, body: { ...result.value, node: { name: node, ...(local(pod) ? podView(view, pod) : {}) } } };
    }
    const result = explainConnectionQuery(view, { from: query.get('from')!, to: query.get('to')!, port: query.get('port')!, protocol: query.get('protocol')! }, AGENT_CONTEXT);
    if (!result.ok) return { status: 400, body: { error: result.error.message } };
    const { from, to } = result.value;
    const end = (e: typeof from) => (e.kind === 'pod' && local(e.name) ? podView(view, e.name) : undefined);
    const [fromView, toView] = [end(from), end(to)];
    return { status: 200, body: { ...result.value, node: { name: node, ...(fromView ? { from: fromView } : {}), ...(toView ? { to: toView } : {}) } } };
  };
}

let server: FakeApiServer;
let kubeconfig: string;
let snapshot: Snapshot;
let staleSnapshot: Snapshot;
let agentPort: number;
const agents = new Map<string, RecordedAgent>();

beforeAll(async () => {
  server = await startFakeApiServer();
  populate(server);
  kubeconfig = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
  const client = createApiClient(loadKubeConfig({ kind: 'kubeconfig', paths: [kubeconfig] }), 5_000);
  const { input } = await readCluster(client);
  snapshot = buildSnapshot(input);
  staleSnapshot = buildSnapshot({ ...input, policies: [] });
  // node-2's agent has not seen the policy yet when asked about db -> backend.
  let stale = false;
  const first = await startRecordedAgent(NODE_ADDRESSES['node-1']!, 0, agentAnswers('node-1', () => snapshot));
  agents.set('node-1', first);
  agentPort = Number(new URL(first.url).port);
  const node2 = agentAnswers('node-2', () => (stale ? staleSnapshot : snapshot));
  agents.set('node-2', await startRecordedAgent(NODE_ADDRESSES['node-2']!, agentPort, (query) => {
    stale = query.get('from') === 'default/db';
    return node2(query);
  }));
  // node-3's agent does not answer: nothing listens at its address. The decoys answer, and must not be asked.
  for (const decoy of DECOYS) agents.set(decoy, await startRecordedAgent(decoy, agentPort, agentAnswers('decoy', () => snapshot)));
});
afterAll(async () => {
  for (const agent of agents.values()) await agent.close();
  await server.close();
});

const explain = (...args: string[]) => bulkheadInProcess(['explain', '--cluster', '--kubeconfig', kubeconfig, '--agent-port', String(agentPort), ...args]);
const asked = () => Object.fromEntries([...agents].map(([node, agent]) => [node, agent.queries.splice(0)]));
const clusterExplanation = (args: string[]) => {
  const result = args[0] === 'pod' ? explainPodQuery(snapshot, args[1]!, { defaultNamespace: 'default', where: 'in the cluster' }) : explainConnectionQuery(snapshot, { from: args[0]!, to: args[1]!, port: args[2]! }, { defaultNamespace: 'default', where: 'in the cluster' });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};

describe('explain --cluster with the agents of the nodes', () => {
  it("asks only the agent on the pod's node, and adds its view after the explanation", async () => {
    asked();
    const run = await explain('pod', 'default/backend');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(asked()).toEqual({ 'node-1': [], 'node-2': ['pod=default%2Fbackend'], [DECOYS[0]!]: [], [DECOYS[1]!]: [] });
    expect(run.stdout).toBe(
      [
        renderExplanation(clusterExplanation(['pod', 'default/backend'])),
        '',
        `Node node-2 (agent http://127.0.0.3:${agentPort}, pod bulkhead-system/bulkhead-node-2)`,
        '  Ingress of default/backend: chain in the kernel (1 rule); dropped 3 packets (180 bytes)',
        '    counter name "drop_in_default_backend" drop',
        '  Egress of default/backend: no chain in the kernel; dropped 0 packets (0 bytes)',
        '',
      ].join('\n'),
    );
  });

  it("asks the agent of each end's node for a connection; -o json prints their answers", async () => {
    asked();
    const text = await explain('default/frontend', 'default/backend', '8080/TCP');
    expect(text.code).toBe(0);
    const questions = asked();
    expect(questions['node-1']).toEqual(['from=default%2Ffrontend&to=default%2Fbackend&port=8080&protocol=TCP']);
    expect(questions['node-2']).toEqual(questions['node-1']);
    expect(text.stdout).toContain(`${renderExplanation(clusterExplanation(['default/frontend', 'default/backend', '8080/TCP']))}\n\nNode node-1 (agent http://127.0.0.2:${agentPort}, pod bulkhead-system/bulkhead-node-1)\n  Egress of default/frontend: no chain in the kernel; dropped 0 packets (0 bytes)\n\nNode node-2 (agent http://127.0.0.3:${agentPort}, pod bulkhead-system/bulkhead-node-2)\n  Ingress of default/backend: chain in the kernel (1 rule)`);

    const json = await explain('-o', 'json', 'frontend', 'backend', '8080');
    const answers = JSON.parse(json.stdout) as { allowed: boolean; node: { name: string; from?: unknown; to?: unknown } }[];
    expect(answers.map((a) => [a.node.name, a.allowed, a.node.from !== undefined, a.node.to !== undefined])).toEqual([
      ['node-1', true, true, false],
      ['node-2', true, false, true],
    ]);
  });

  it("prints the agent's JSON for a pod, as the agent answered it", async () => {
    const run = await explain('-o', 'json', 'pod', 'default/backend');
    expect(JSON.parse(run.stdout)).toEqual(agentAnswers('node-2', () => snapshot)(new URLSearchParams({ pod: 'default/backend' })).body);
  });

  it('says when the agent sees the connection otherwise than the API does now', async () => {
    const run = await explain('default/db', 'default/backend', '8080/TCP');
    expect(run.stdout).toContain(': DENIED');
    expect(run.stdout).toContain("  the agent's verdict is ALLOWED, not the cluster's: its view of the cluster is older or newer than this one");
  });

  it('asks the agent given with --agent, whatever the node', async () => {
    asked();
    const run = await explain('pod', 'default/db', '--agent', agents.get('node-1')!.url);
    expect(run.stderr).toBe('');
    expect(asked()['node-1']).toEqual(['pod=default%2Fdb']);
    expect(run.stdout).toContain(`Node node-1 (agent ${agents.get('node-1')!.url})\n  default/db is not on this node: no chains of it here`);
  });

  it('a node with no agent: one line on stderr, the explanation still, exit 0', async () => {
    const run = await explain('pod', 'orphan');
    expect(run.stderr).toBe('bulkhead: no node view: no agent on node node-4 (no pods of bulkhead-system labelled app.kubernetes.io/name=bulkhead there)\n');
    expect(run.stdout).toBe(`${renderExplanation(clusterExplanation(['pod', 'default/orphan']))}\n`);
    expect(run.code).toBe(0);
  });

  it('as a process: an agent that does not answer is one line on stderr; the explanation and exit 0 stay, in JSON too', async () => {
    const [text, json] = await Promise.all([
      bulkhead(['explain', '--cluster', '--kubeconfig', kubeconfig, '--agent-port', String(agentPort), 'pod', 'default/db']),
      bulkhead(['explain', '--cluster', '--kubeconfig', kubeconfig, '--agent-port', String(agentPort), '-o', 'json', 'pod', 'default/db']),
    ]);
    for (const run of [text, json]) {
      expect(run.stderr).toBe(`bulkhead: no node view: the agent at http://127.0.0.4:${agentPort} cannot be reached: connect ECONNREFUSED 127.0.0.4:${agentPort}\n`);
      expect(run.code).toBe(0);
    }
    expect(text.stdout).toBe(`${renderExplanation(clusterExplanation(['pod', 'default/db']))}\n`);
    expect(JSON.parse(json.stdout)).toEqual(clusterExplanation(['pod', 'default/db']));
  });

  it('--agent with -f is a usage error', async () => {
    const run = await bulkheadInProcess(['explain', '-f', '/dev/null', '--agent', 'http://127.0.0.1:9650', 'pod', 'default/x']);
    expect(run).toEqual({ code: 2, stdout: '', stderr: "bulkhead: --agent adds the node's view of the live cluster: it does not go with -f\n" });
  });
});
