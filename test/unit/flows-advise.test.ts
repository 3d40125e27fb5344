// `bulkhead advise` without --flows: the flows of the agents' stores (GET /flows), from the agents named with
// --agent or every agent of the cluster. The agents here are the real route over the real store, on loopback,
// filled with the three-tier demo's recorded flows as each node saw them.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlowRecord, readFlowLines } from '../../src/advise/flow-record.js';
import { createFlowStore } from '../../src/agent/flows/index.js';
import { answer } from '../../src/agent/http/routes.js';
import { clusterAgents, flowsOfAgents, mergeFlowRecords } from '../../src/cli/agent-flows.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { snapshotOf, pod } from '../support/builders.js';
import { bulkheadInProcess } from './cli-cluster-helpers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PODS = join(REPO, 'examples', 'three-tier', 'pods.yaml');
const FLOWS = join(REPO, 'test', 'fixtures', 'flows', 'three-tier.jsonl');
const reading = readFlowLines(readFileSync(FLOWS, 'utf8'));
if (!reading.ok) throw new Error(`${FLOWS}:${reading.line}: ${reading.message}`);
const recorded = reading.records;
const distinctPerNode = new Set(
  recorded.filter((r) => r.verdict === 'allowed' && [r.from, r.to].some((end) => end.startsWith('default/'))).map((r) => JSON.stringify([r.node, r.direction, r.from, r.to, r.port, r.protocol])),
).size;

interface FakeAgent {
  readonly url: string;
  readonly queries: string[];
  readonly server: Server;
}

/** The agent endpoint's real /flows route over a real store holding `records`. */
async function fakeAgent(records: readonly FlowRecord[]): Promise<FakeAgent> {
  const store = createFlowStore();
  for (const record of records) store.add(record);
  const queries: string[] = [];
  const context = {
    agent: { registry: new Registry(), status: () => ({ ready: true }), view: () => undefined, dropCounts: async () => [] },
    nodeName: 'node',
    explain: false,
    readChain: async () => {
      throw new Error('no kernel here');
    },
    flows: store,
  };
  const server = createServer((request, response) => {
    queries.push(request.url ?? '');
    void answer(request.method ?? 'GET', request.url ?? '/', context).then((reply) => {
      response.writeHead(reply.status, { 'content-type': reply.contentType });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queries, server };
}

let agents: FakeAgent[] = [];
beforeAll(async () => {
  // Recorded records newer than an hour ago, so since=1h keeps them: the same flows, moved to now.
  const shift = Date.now() - 60_000 - Math.max(...recorded.map((r) => Date.parse(r.time)));
  const moved = recorded.map((r) => ({ ...r, time: new Date(Date.parse(r.time) + shift).toISOString() }));
  agents = await Promise.all(['node1', 'node2'].map((node) => fakeAgent(moved.filter((r) => r.node === node))));
});
afterAll(async () => {
  await Promise.all(agents.map((agent) => new Promise((resolve) => agent.server.close(resolve))));
});

describe('bulkhead advise from the agents', () => {
  it('proposes from the agents\' flows what it proposes from the recorded file', async () => {
    const fromFile = await bulkheadInProcess(['advise', '-n', 'default', '--flows', FLOWS, '-f', PODS, '-o', 'json']);
    expect(fromFile.code).toBe(0);
    const policies = (run: { stdout: string }) => (JSON.parse(run.stdout) as { policies: unknown[] }).policies;
    for (const since of [[], ['--since', '2h']]) {
      const fromAgents = await bulkheadInProcess(['advise', '-n', 'default', '-f', PODS, '-o', 'json', ...agents.flatMap((a) => ['--agent', a.url]), ...since]);
      expect(fromAgents.code).toBe(0);
      // Each node's store keeps each of its flows once, however often the file recorded it.
      expect(fromAgents.stderr).toBe(`read ${distinctPerNode} flow records of namespace default from 2 agents\n`);
      expect(policies(fromAgents)).toEqual(policies(fromFile));
      for (const agent of agents) expect(agent.queries.at(-1)).toBe(`/flows?namespace=default${since.length > 0 ? '&since=2h' : ''}`);
    }
    // The agents apply since to when each flow was last seen: 30 minutes back keeps fewer.
    const recent = await bulkheadInProcess(['advise', '-n', 'default', '-f', PODS, '-o', 'json', ...agents.flatMap((a) => ['--agent', a.url]), '--since', '30m']);
    expect(recent.code).toBe(0);
    const kept = Number(/^read (\d+) flow records? of namespace default from 2 agents\n/.exec(recent.stderr)?.[1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(distinctPerNode);
  });

  it('an agent that cannot be reached or keeps no flows fails the proposal with one line', async () => {
    const run = await bulkheadInProcess(['advise', '-n', 'default', '-f', PODS, '--agent', agents[0]!.url, '--agent', 'http://127.0.0.1:1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^bulkhead: the agent of http:\/\/127\.0\.0\.1:1 at http:\/\/127\.0\.0\.1:1 cannot be reached: .+\n$/);
    expect(run.stdout).toBe('');
  });

  it('merges the agents\' records oldest first', async () => {
    const a = recorded.filter((r) => r.node === 'node1');
    const b = recorded.filter((r) => r.node === 'node2');
    const merged = mergeFlowRecords([b, a]);
    expect(merged).toHaveLength(recorded.length);
    expect(merged.map((r) => Date.parse(r.time))).toEqual([...merged.map((r) => Date.parse(r.time))].sort((x, y) => x - y));
    const read = await flowsOfAgents(
      [
        { url: 'http://a', name: 'a' },
        { url: 'http://b', name: 'b' },
      ],
      { namespace: 'default' },
      async (source) => (source.name === 'a' ? a : b),
    );
    expect(read).toEqual(mergeFlowRecords([a, b]));
  });

  it('finds one agent a node in the cluster\'s objects, and says when one cannot be asked', () => {
    const agent = (name: string, node: string, ips: string[]) =>
      pod(`bulkhead-system/${name}`, { labels: { 'app.kubernetes.io/name': 'bulkhead' }, ips, nodeName: node });
    const cluster = snapshotOf({ pods: [agent('bulkhead-b', 'node2', ['192.168.1.2']), agent('bulkhead-a', 'node1', ['fd00::1']), pod('default/web', { nodeName: 'node3', ips: ['10.0.0.9'] })] });
    expect(clusterAgents(cluster, 9650)).toEqual([
      { url: 'http://[fd00::1]:9650', name: 'node node1 (bulkhead-system/bulkhead-a)' },
      { url: 'http://192.168.1.2:9650', name: 'node node2 (bulkhead-system/bulkhead-b)' },
    ]);
    expect(() => clusterAgents(snapshotOf({ pods: [agent('bulkhead-a', 'node1', [])] }), 9650)).toThrow(/bulkhead-system\/bulkhead-a on node node1 has no address yet: its flows are needed/);
    expect(() => clusterAgents(buildSnapshot({ namespaces: [], pods: [], policies: [], errors: [] } as never), 9650)).toThrow(/^no agents in the cluster/);
  });
});
