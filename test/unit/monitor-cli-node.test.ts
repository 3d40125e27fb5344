// `bulkhead monitor --node N` as a process: the agent followed is the bulkhead-system pod labelled
// app.kubernetes.io/name=bulkhead on that node (read from the cluster through a kubeconfig), at its address and
// --agent-port; its records are printed as JSON lines, and the stream's end is a one-line error.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/advise/flow-record.js';
import { type AgentHttpServer, startAgentHttpServer } from '../../src/agent/http/index.js';
import { createMonitorHub, DEFAULT_HUB_LIMITS, type MonitorHub } from '../../src/agent/monitor/index.js';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { rawNamespace, rawPod } from '../kube/objects.js';
import { snapshotOf } from '../support/builders.js';
import { bulkhead } from './cli-cluster-helpers.js';

const AGENT_LABELS = { 'app.kubernetes.io/name': 'bulkhead' };
// Loopback addresses stand for the nodes' addresses: every 127/8 address is this host's.
const NODE_A = '127.0.0.2';
const DECOY = '127.0.0.3';

const record: FlowRecord = {
  time: '2026-11-23T23:12:52.481Z',
  node: 'node-a',
  direction: 'ingress',
  from: 'default/client',
  to: 'default/web',
  port: 80,
  protocol: 'TCP',
  verdict: 'dropped',
  policies: ['default/web-closed'],
};

let api: FakeApiServer;
let kubeconfig: string;
const hubs: MonitorHub[] = [];
const servers: AgentHttpServer[] = [];
let port: number;

async function agentAt(address: string, atPort: number): Promise<MonitorHub> {
  const hub = createMonitorHub(DEFAULT_HUB_LIMITS, () => undefined);
  const snapshot = snapshotOf({ pods: [] });
  const server = await startAgentHttpServer(
    { registry: new Registry(), status: () => ({ ready: true }), view: () => ({ snapshot, plan: { tables: [], counters: {} } }), dropCounts: () => Promise.resolve([]) },
    { address, port: atPort, explain: true, nodeName: address, logger: pino({ level: 'silent' }), monitor: hub },
  );
  hubs.push(hub);
  servers.push(server);
  port = server.port;
  return hub;
}

beforeAll(async () => {
  api = await startFakeApiServer();
  api.create('namespaces', rawNamespace('bulkhead-system'));
  api.create('namespaces', rawNamespace('monitoring'));
  api.create('pods', rawPod('bulkhead-system', 'bulkhead-a', { labels: AGENT_LABELS, nodeName: 'node-a', ips: [NODE_A], hostNetwork: true }));
  // Same node and label, another namespace: not the agent.
  api.create('pods', rawPod('monitoring', 'bulkhead-exporter', { labels: AGENT_LABELS, nodeName: 'node-a', ips: [DECOY], hostNetwork: true }));
  kubeconfig = await writeKubeconfig([{ name: 'fake', server: api.url, caCertificate: api.caCertificate }]);
});

afterAll(async () => {
  for (const hub of hubs) hub.close();
  for (const server of servers) await server.close();
  await api.close();
});

describe('bulkhead monitor --node', () => {
  it("follows the agent on that node, printing its records, and says when the stream ends", async () => {
    const hub = await agentAt(NODE_A, 0);
    const decoy = await agentAt(DECOY, port);
    decoy.publish({ ...record, node: 'decoy' }, Date.now());
    hub.publish(record, Date.now());
    const running = bulkhead(['monitor', '--node', 'node-a', '--kubeconfig', kubeconfig, '--agent-port', String(port), '--recent', '-o', 'json']);
    const deadline = Date.now() + 30_000;
    while (hub.subscribers === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(decoy.subscribers).toBe(0);
    hub.publish({ ...record, port: 81 }, Date.now());
    await new Promise((resolve) => setTimeout(resolve, 300));
    hub.close();
    const run = await running;
    expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line) as FlowRecord)).toEqual([record, { ...record, port: 81 }]);
    expect([run.code, run.stderr]).toEqual([2, `bulkhead: the agent at http://${NODE_A}:${port} ended the stream (it stopped, or restarts)\n`]);
  });

  it('names a node without an agent, and refuses --agent with --node', async () => {
    const missing = await bulkhead(['monitor', '--node', 'node-z', '--kubeconfig', kubeconfig]);
    expect([missing.code, missing.stderr]).toEqual([2, 'bulkhead: no agent on node node-z (no pods of bulkhead-system labelled app.kubernetes.io/name=bulkhead there)\n']);
    const both = await bulkhead(['monitor', '--node', 'node-a', '--agent', 'http://127.0.0.1:9650']);
    expect([both.code, both.stderr]).toEqual([2, 'bulkhead: --agent and --node both say which agent to follow: give one\n']);
  });
});
