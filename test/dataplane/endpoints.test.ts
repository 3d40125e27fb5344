// The agent's HTTP endpoint against real packets. Lab agents (`bulkhead agent`, default flags, listening on
// 0.0.0.0:9650 in their node's namespace) must report what the probes did: a denied probe in the drop counter of
// the right pod and direction on /metrics, and on /explain the denial, the isolating policy, the pod's chain as the
// kernel holds it and the same drops. In process, runAgent shows readiness before and after the first plan, an
// endpoint turned off, and the endpoint closed on SIGTERM with the rules left in the kernel.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../src/agent/index.js';
import { EXPLAIN_DISABLED } from '../../src/agent/http/index.js';
import { type Cluster, type Probe, requireTools, startCluster } from './harness.js';
import { policy, podPeer, port, rule, selector } from '../support/builders.js';
import { useThrowawayNetns, writeExecutable } from '../support/netns.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const AGENT_PORT = 9650;

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** GET from inside a lab node, as a kubelet probe or a scraper on the node would. */
async function getInNode(cluster: Cluster, nodeName: string, path: string): Promise<Reply> {
  const node = cluster.lab.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no lab node ${nodeName}`);
  const { stdout } = await run('ip', ['netns', 'exec', node.netns, 'curl', '-sS', '--max-time', '10', '-w', '\n%{http_code}', `http://127.0.0.1:${AGENT_PORT}${path}`]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** The bulkhead_dropped_packets_total series of a scrape, keyed `namespace/pod/direction`. */
function droppedPackets(metrics: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    const match = /^bulkhead_dropped_packets_total\{([^}]*)\} (\d+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    series.set(`${labels['namespace']}/${labels['pod']}/${labels['direction']}`, Number(match[2]));
  }
  return series;
}

describe('agent endpoint on the lab', () => {
  let cluster: Cluster;

  // web (node2) takes port 80 from trusted only; trusted (node1) may reach web's port 80 only.
  const WEB_FROM_TRUSTED = policy('ep/web-from-trusted', {
    podSelector: selector({ app: 'web' }),
    ingress: [rule([podPeer({ podSelector: selector({ app: 'trusted' }) })], [port('http')])],
  });
  const TRUSTED_EGRESS = policy('ep/trusted-egress', {
    podSelector: selector({ app: 'trusted' }),
    policyTypes: ['egress'],
    egress: [rule([podPeer({ podSelector: selector({ app: 'web' }) })], [port(80)])],
  });
  const probes: Probe[] = [
    { from: 'ep/client', to: 'ep/web', port: 80, protocol: 'TCP' },
    { from: 'ep/trusted', to: 'ep/web', port: 81, protocol: 'TCP' },
    { from: 'ep/trusted', to: 'ep/web', port: 80, protocol: 'TCP' },
  ];

  beforeAll(async () => {
    requireTools(['curl']);
    cluster = await startCluster();
    await cluster.apply({
      pods: [
        { namespace: 'ep', name: 'client', node: 'node1', labels: { app: 'client' } },
        { namespace: 'ep', name: 'trusted', node: 'node1', labels: { app: 'trusted' } },
        {
          namespace: 'ep',
          name: 'web',
          node: 'node2',
          labels: { app: 'web' },
          ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
          serve: [{ port: 81, protocol: 'TCP' }],
        },
      ],
      policies: [WEB_FROM_TRUSTED, TRUSTED_EGRESS],
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('counts a denied probe for the right pod and direction, and explains it with the kernel\'s rules', async () => {
    for (const node of ['node1', 'node2']) {
      expect(await getInNode(cluster, node, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect(await getInNode(cluster, node, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
    }
    const results = await cluster.probe(probes);
    expect(results.map((r) => r.outcome)).toEqual(['timeout', 'timeout', 'connected']);
    expect(results.map((r) => r.verdictOutcome)).toEqual(['timeout', 'timeout', 'connected']);

    // /metrics: the counters read at scrape time, each on the node of its pod.
    const node2 = droppedPackets((await getInNode(cluster, 'node2', '/metrics')).body);
    const node1 = droppedPackets((await getInNode(cluster, 'node1', '/metrics')).body);
    expect(node2.get('ep/web/ingress')).toBeGreaterThan(0);
    expect(node1.get('ep/trusted/egress')).toBeGreaterThan(0);
    expect([...node2.keys()]).toEqual(['ep/web/ingress']);
    expect([...node1.keys()]).toEqual(['ep/trusted/egress']);
    // The same counters as nft lists them on the nodes.
    const counters = await cluster.dropCounters();
    const kernel = (pod: string, direction: string) => counters.find((c) => c.pod === pod && c.direction === direction)?.packets;
    expect(kernel('web', 'ingress')).toBe(node2.get('ep/web/ingress'));
    expect(kernel('trusted', 'egress')).toBe(node1.get('ep/trusted/egress'));

    // /explain on the destination's node: denied at web's ingress, web's chain and drops; client is not local.
    const ingress = await getInNode(cluster, 'node2', '/explain?from=ep/client&to=ep/web&port=http');
    expect(ingress.status).toBe(200);
    const denied = JSON.parse(ingress.body) as Record<string, any>;
    expect(denied).toMatchObject({
      kind: 'connection',
      from: { kind: 'pod', name: 'ep/client', nodeName: 'node1' },
      to: { kind: 'pod', name: 'ep/web', nodeName: 'node2' },
      port: 80,
      portName: 'http',
      protocol: 'TCP',
      allowed: false,
      egress: { subject: 'ep/client', allowed: true, reason: 'not-isolated' },
      ingress: { subject: 'ep/web', allowed: false, reason: 'isolated', isolatedBy: ['ep/web-from-trusted'] },
    });
    expect(denied['ingress'].closestRules).toMatchObject([{ policy: 'ep/web-from-trusted', rule: 0, peersMatch: false, portsMatch: true }]);
    expect(Object.keys(denied['node']).sort()).toEqual(['name', 'to']);
    expect(denied['node']['name']).toBe('node2');
    const web = denied['node']['to'];
    expect(web.rulesInKernel).toEqual({ ingress: true, egress: false });
    expect(web.kernelRules.egress).toEqual([]);
    expect(web.kernelRules.ingress).toContain('counter name "drop_in_ep_web" drop');
    expect(web.kernelRules.ingress.join('\n')).toMatch(/ 80 .*accept comment "[^"]*ep\/web-from-trusted/);
    // The same lines nft prints on the node.
    expect(web.kernelRules.ingress).toEqual(
      (await cluster.chainListing('ep/web', 'ingress'))
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !/^(table|chain) .*\{$/.test(line) && line !== '}'),
    );
    expect(web.drops.ingress.packets).toBe(node2.get('ep/web/ingress'));
    expect(web.drops.ingress.bytes).toBeGreaterThan(0);
    expect(web.drops.egress).toEqual({ packets: 0, bytes: 0 });

    // /explain on the source's node: denied at trusted's egress, with its chain and drops; web is not local.
    const egress = JSON.parse((await getInNode(cluster, 'node1', '/explain?from=ep/trusted&to=ep/web&port=81')).body) as Record<string, any>;
    expect(egress).toMatchObject({
      allowed: false,
      egress: { subject: 'ep/trusted', reason: 'isolated', isolatedBy: ['ep/trusted-egress'] },
      ingress: { subject: 'ep/web', reason: 'isolated', isolatedBy: ['ep/web-from-trusted'] },
      node: { name: 'node1', from: { rulesInKernel: { ingress: false, egress: true } } },
    });
    expect(egress['node']['to']).toBeUndefined();
    expect(egress['node']['from'].kernelRules.egress).toContain('counter name "drop_out_ep_trusted" drop');
    expect(egress['node']['from'].drops.egress.packets).toBe(node1.get('ep/trusted/egress'));

    // explain pod: the node view only where the pod runs.
    const here = JSON.parse((await getInNode(cluster, 'node2', '/explain?pod=ep/web')).body) as Record<string, any>;
    expect(here).toMatchObject({ kind: 'pod', pod: 'ep/web', nodeName: 'node2', ingress: { isolated: true }, egress: { isolated: false } });
    expect(here['node']).toMatchObject({ name: 'node2', rulesInKernel: { ingress: true, egress: false }, drops: { ingress: { packets: node2.get('ep/web/ingress') } } });
    const elsewhere = JSON.parse((await getInNode(cluster, 'node1', '/explain?pod=ep/web')).body) as Record<string, any>;
    expect(elsewhere['node']).toEqual({ name: 'node1' });

    const unknown = await getInNode(cluster, 'node1', '/explain?pod=ep/nobody');
    expect([unknown.status, JSON.parse(unknown.body)]).toEqual([404, { error: 'no pod ep/nobody known to this agent (expected NAMESPACE/NAME or an IP)' }]);
  });
});

describe('runAgent with its endpoint', () => {
  const netns = useThrowawayNetns('bhe');

  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: free } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return free;
  }

  async function get(url: string): Promise<{ status: number; body: string }> {
    const reply = await fetch(url);
    return { status: reply.status, body: await reply.text() };
  }

  async function clusterFiles(): Promise<{ manifestsDir: string; cniResultsDir: string }> {
    const dir = await mkdtemp(join(netns.dir, 'agent-'));
    const manifestsDir = join(dir, 'manifests');
    const cniResultsDir = join(dir, 'cni');
    await mkdir(manifestsDir);
    await mkdir(cniResultsDir);
    await writeFile(
      join(manifestsDir, 'cluster.yaml'),
      `apiVersion: v1
kind: Pod
metadata: {name: db, namespace: prod, labels: {app: db}}
spec: {nodeName: node-a, containers: [{name: db, image: postgres}]}
status: {podIPs: [{ip: 10.244.1.6}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-closed, namespace: prod}
spec: {podSelector: {matchLabels: {app: db}}}
`,
    );
    return { manifestsDir, cniResultsDir };
  }

  /** runAgent on the cluster's files with its endpoint on a free port of this host (its URL as `base`). */
  async function startRunAgent(nftPath: string, explain: boolean): Promise<{ base: string; running: Promise<void> }> {
    const { manifestsDir, cniResultsDir } = await clusterFiles();
    const httpPort = await freePort();
    const running = runAgent({
      nodeName: 'node-a',
      source: { kind: 'manifests', directory: manifestsDir },
      cniResultsDir,
      nftPath,
      debounceMs: 20,
      http: { address: '127.0.0.1', port: httpPort, explain },
      logger: pino({ level: 'silent' }),
    });
    return { base: `http://127.0.0.1:${httpPort}`, running };
  }

  it('is not ready (and explains nothing) until its first plan holds, then closes on SIGTERM leaving the rules', async () => {
    // nft fails until this file exists: the first plan cannot be applied before.
    const allowed = join(netns.dir, 'nft-allowed');
    const gated = join(netns.dir, 'nft-gated');
    await writeExecutable(gated, `#!/bin/sh\n[ -e ${allowed} ] || { echo "nft held back by the test" >&2; exit 1; }\nexec ${netns.nftPath} "$@"\n`);
    const { base, running } = await startRunAgent(gated, true);
    let stopped = false;
    try {
      await until('the endpoint', async () => (await get(`${base}/healthz`).catch(() => undefined))?.status === 200, 20_000);
      const notReady = await get(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatch(/^not ready: .+\n$/);
      const early = await get(`${base}/explain?pod=prod/db`);
      expect(early.status).toBe(503);
      expect(JSON.parse(early.body)).toEqual({ error: expect.stringMatching(/^not ready: /) as string });

      await writeFile(allowed, '');
      await until('readiness', async () => (await get(`${base}/readyz`)).status === 200, 40_000);
      const explained = await get(`${base}/explain?pod=prod/db`);
      expect(explained.status).toBe(200);
      expect(JSON.parse(explained.body)).toMatchObject({
        pod: 'prod/db',
        ingress: { isolated: true, policies: [{ policy: 'prod/db-closed', rules: [] }] },
        node: { name: 'node-a', rulesInKernel: { ingress: true, egress: false }, drops: { ingress: { packets: 0, bytes: 0 } } },
      });

      process.emit('SIGTERM');
      await running;
      stopped = true;
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
      expect(netns.nft('list', 'chain', 'inet', 'bulkhead', 'pod_in_prod_db')).toMatch(/counter name "drop_in_prod_db" drop/);
    } finally {
      if (!stopped) {
        process.emit('SIGTERM');
        await running;
      }
    }
  });

  it('answers /explain with 404 when the endpoint is turned off', async () => {
    const { base, running } = await startRunAgent(netns.nftPath, false);
    try {
      await until('readiness', async () => (await get(`${base}/readyz`).catch(() => undefined))?.status === 200, 20_000);
      const off = await get(`${base}/explain?pod=prod/db`);
      expect([off.status, JSON.parse(off.body)]).toEqual([404, { error: EXPLAIN_DISABLED }]);
      expect((await get(`${base}/metrics`)).body).toMatch(/^bulkhead_ready 1$/m);
    } finally {
      process.emit('SIGTERM');
      await running;
    }
  });
});
