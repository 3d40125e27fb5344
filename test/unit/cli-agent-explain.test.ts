// `bulkhead agent explain` against an endpoint serving recorded /explain answers: the question it sends, the words
// it renders (the explanation as the CLI words it, then the node's view), the agent's JSON as is with -o json, and
// one line with exit 2 when the agent cannot be asked or answers an error.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderExplanation } from '../../src/cli/explain.js';
import { type ConnectionExplanation, explainConnectionQuery, explainPodQuery, type PodExplanation } from '../../src/explain/index.js';
import { DEFAULT_POD_CIDRS, loadManifests } from '../../src/model/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { bulkhead, bulkheadInProcess, type RecordedAgent, REPO, startRecordedAgent } from './cli-cluster-helpers.js';

const THREE_TIER = join(REPO, 'examples', 'three-tier');
const AGENT_CONTEXT = { defaultNamespace: 'default', where: 'known to this agent' };

const BACKEND_INGRESS_RULES = [
  'ip saddr @peer4_2f0c5a1e9b7d4c33 meta l4proto . th dport { tcp . 8080 } accept comment "default/allow-frontend-ingress-to-backend ingress[0]"',
  'counter name "drop_in_default_backend" drop',
];

let podAnswer: PodExplanation & { node: unknown };
let connectionAnswer: ConnectionExplanation & { node: unknown };
let agent: RecordedAgent;

beforeAll(async () => {
  const loaded = await loadManifests(
    [join(THREE_TIER, 'pods.yaml'), join(THREE_TIER, 'steps', '01-deny-ingress-to-backend'), join(THREE_TIER, 'steps', '02-allow-frontend-to-backend')],
    { defaultNamespace: 'default', podCidrs: DEFAULT_POD_CIDRS },
  );
  const snapshot = buildSnapshot(loaded);
  const pod = explainPodQuery(snapshot, 'default/backend', AGENT_CONTEXT);
  const connection = explainConnectionQuery(snapshot, { from: 'default/frontend', to: 'default/backend', port: '8080/TCP' }, AGENT_CONTEXT);
  if (!pod.ok || !connection.ok) throw new Error('the example lost its pods');
  const backendView = {
    rulesInKernel: { ingress: true, egress: false },
    kernelRules: { ingress: BACKEND_INGRESS_RULES, egress: [] },
    drops: { ingress: { packets: 7, bytes: 420 }, egress: { packets: 0, bytes: 0 } },
  };
  podAnswer = { ...pod.value, node: { name: 'node-2', ...backendView } };
  connectionAnswer = { ...connection.value, node: { name: 'node-2', to: backendView } };
  agent = await startRecordedAgent('127.0.0.1', 0, (query) => {
    if (query.get('pod') === 'default/backend') return { status: 200, body: podAnswer };
    if (query.get('pod') === 'default/frontend') {
      // Isolated by a policy the kernel does not hold yet.
      const frontend = explainPodQuery(snapshot, 'default/frontend', AGENT_CONTEXT);
      if (!frontend.ok) throw new Error('no frontend');
      const isolated = { ...frontend.value, ingress: { ...frontend.value.ingress, isolated: true } };
      return { status: 200, body: { ...isolated, node: { name: 'node-1', ...backendView, rulesInKernel: { ingress: false, egress: false }, kernelRules: { ingress: [], egress: [] } } } };
    }
    if (query.get('pod') === 'default/elsewhere') return { status: 200, body: { ...podAnswer, pod: 'default/elsewhere', node: { name: 'node-2' } } };
    if (query.get('pod') === 'default/nobody') return { status: 404, body: { error: 'no pod default/nobody known to this agent (expected NAMESPACE/NAME or an IP)' } };
    if (query.get('pod') === 'default/early') return { status: 503, body: { error: 'not ready: waiting for the first list of pods' } };
    if (query.get('pod') === 'default/odd') return { status: 200, body: { kind: 'pod', pod: 'default/odd' } };
    if (query.has('from')) return { status: 200, body: connectionAnswer };
    return { status: 400, body: { error: 'unexpected question' } };
  });
});
afterAll(() => agent.close());

describe('bulkhead agent explain', () => {
  it('asks for the pod and renders the explanation, then its node: chains in the kernel, rules, drops', async () => {
    const run = await bulkheadInProcess(['agent', 'explain', 'pod', 'default/backend', '--agent', agent.url]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(agent.queries.at(-1)).toBe('pod=default%2Fbackend');
    expect(run.stdout).toBe(
      [
        renderExplanation(podAnswer),
        '',
        `Node node-2 (agent ${agent.url})`,
        '  Ingress of default/backend: chain in the kernel (2 rules); dropped 7 packets (420 bytes)',
        ...BACKEND_INGRESS_RULES.map((rule) => `    ${rule}`),
        '  Egress of default/backend: no chain in the kernel; dropped 0 packets (0 bytes)',
        '',
      ].join('\n'),
    );
    expect(run.stdout).toContain('Ingress: isolated by default/allow-frontend-ingress-to-backend, default/deny-all-ingress-to-backend');
  });

  it('asks for a connection as typed (the agent resolves names and ports) and shows the local end', async () => {
    const run = await bulkheadInProcess(['agent', 'explain', 'default/frontend', 'default/backend', '8080/TCP', '--agent', agent.url]);
    expect(run.code).toBe(0);
    expect(agent.queries.at(-1)).toBe('from=default%2Ffrontend&to=default%2Fbackend&port=8080%2FTCP');
    expect(run.stdout).toContain('default/frontend (10.244.0.');
    expect(run.stdout).toContain(': ALLOWED');
    expect(run.stdout).toContain(`Node node-2 (agent ${agent.url})\n  Ingress of default/backend: chain in the kernel (2 rules); dropped 7 packets (420 bytes)\n`);
    expect(run.stdout).not.toContain('Egress of default/frontend');
  });

  it('prints the agent\'s JSON as it came with -o json', async () => {
    const run = await bulkheadInProcess(['agent', 'explain', '-o', 'json', 'pod', 'default/backend', '--agent', agent.url]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(podAnswer);
  });

  it('says where the kernel disagrees with the agent\'s verdict, and when the pod is not on its node', async () => {
    const isolated = await bulkheadInProcess(['agent', 'explain', 'pod', 'default/frontend', '--agent', agent.url]);
    expect(isolated.stdout).toContain(
      "  Ingress of default/frontend: no chain in the kernel; dropped 7 packets (420 bytes)\n    the agent's view isolates it, but the kernel holds no ingress chain: not enforced here yet\n",
    );
    const elsewhere = await bulkheadInProcess(['agent', 'explain', 'pod', 'default/elsewhere', '--agent', agent.url]);
    expect(elsewhere.stdout).toMatch(/\nNode node-2 \(agent .+\)\n {2}default\/elsewhere is not on this node: no chains of it here\n$/);
  });

  it.each([
    [['pod', 'default/nobody'], /^bulkhead: the agent at http:\/\/127\.0\.0\.1:\d+ answered 404: no pod default\/nobody known to this agent/],
    [['pod', 'default/early'], /^bulkhead: the agent at http:\/\/127\.0\.0\.1:\d+ answered 503: not ready: waiting for the first list of pods$/],
    [['pod', 'default/odd'], /^bulkhead: the agent at http:\/\/127\.0\.0\.1:\d+ answered with no explanation this CLI reads \(ingress: .+\)$/],
    [['pod'], /^bulkhead: usage: bulkhead agent explain pod NAMESPACE\/NAME$/],
  ])('an error of the agent or of the question is one line, exit 2: %s', async (args, message) => {
    const run = await bulkheadInProcess(['agent', 'explain', ...args, '--agent', agent.url]);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(run.code).toBe(2);
  });

  it('as a process: an agent that is not there is one line and exit 2, with no stack', async () => {
    const gone = await startRecordedAgent('127.0.0.1', 0, () => ({ status: 500, body: {} }));
    await gone.close();
    const port = new URL(gone.url).port;
    const run = await bulkhead(['agent', 'explain', 'pod', 'default/backend', '--agent', gone.url]);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`bulkhead: the agent at ${gone.url} cannot be reached: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    expect(run.code).toBe(2);
  });

  it('as a process, with neither NODE_NAME nor the agent\'s other settings', async () => {
    const { NODE_NAME: _unset, ...env } = process.env;
    const run = await bulkhead(['agent', 'explain', 'pod', 'default/backend', '--agent', agent.url], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Node node-2');
  });
});
