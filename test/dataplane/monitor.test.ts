// The verdict stream against real packets. Lab agents (`bulkhead agent`, default flags: the stream on, tcpdump
// on nflog group 8421 in the node's namespace) must stream each denied probe with the right node, direction,
// ends, port, protocol and isolating policies, on GET /monitor and through `bulkhead monitor -o json` run as a
// process. A flood of 20,000 denied datagrams from one pod must leave the agent answering /healthz quickly, its
// memory flat, the records bounded by the kernel's per-pod rate, and another pod's single denied probe in the
// stream all the same.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/advise/flow-record.js';
import { BUILT_CLI } from '../lab/agents.js';
import type { LabProcess } from '../lab/lab.js';
import { podPeer, policy, port, rule, selector } from '../support/builders.js';
import { type Cluster, type Probe, requireTools, startCluster } from './harness.js';

const run = promisify(execFile);
const AGENT = 'http://127.0.0.1:9650';

const POLICIES = [
  policy('mon/web-default-deny', { podSelector: selector({ app: 'web' }) }),
  policy('mon/web-from-admin', { podSelector: selector({ app: 'web' }), ingress: [rule([podPeer({ podSelector: selector({ app: 'admin' }) })], [port(80)])] }),
  policy('mon/db-closed', { podSelector: selector({ app: 'db' }) }),
  policy('mon/client-egress', {
    podSelector: selector({ app: 'client' }),
    policyTypes: ['egress'],
    egress: [rule([podPeer({ podSelector: selector({ app: 'web' }) })], [port(80)])],
  }),
];

function netnsOf(cluster: Cluster, nodeName: string): string {
  return cluster.lab.node(nodeName).netns;
}

/** What /monitor holds for this query now: the kept records (recent=1), read for a moment. */
function recentRecords(cluster: Cluster, nodeName: string, query: string): Promise<FlowRecord[]> {
  return new Promise((resolve, reject) => {
    const curl = spawn('ip', ['netns', 'exec', netnsOf(cluster, nodeName), 'curl', '-sSN', '--max-time', '1', `${AGENT}/monitor?recent=1&${query}`]);
    let out = '';
    let err = '';
    curl.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    curl.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    curl.on('error', reject);
    // 28: the --max-time that ends a stream which never ends by itself.
    curl.on('close', (code) => (code === 28 ? resolve(out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FlowRecord)) : reject(new Error(`curl /monitor exited ${code}: ${err}`))));
  });
}

async function until<T>(what: string | (() => string), probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${typeof what === 'string' ? what : what()}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A record of `records` matching `expected`, once it is there. */
function recordLike(cluster: Cluster, nodeName: string, query: string, expected: Partial<FlowRecord>): Promise<FlowRecord> {
  return until(`a record like ${JSON.stringify(expected)} on ${nodeName}`, async () =>
    (await recentRecords(cluster, nodeName, query)).find((r) => Object.entries(expected).every(([k, v]) => JSON.stringify(r[k as keyof FlowRecord]) === JSON.stringify(v))),
  );
}

async function metric(cluster: Cluster, nodeName: string, series: RegExp): Promise<number> {
  const { stdout } = await run('ip', ['netns', 'exec', netnsOf(cluster, nodeName), 'curl', '-sS', '--max-time', '10', `${AGENT}/metrics`]);
  const line = stdout.split('\n').find((l) => series.test(l));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Resident memory (kB) and CPU time (s) of a process and its children (the agent and its tcpdump). */
function usage(pid: number): { rssKb: number; cpuSeconds: number } {
  const pids = [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number)];
  let rssKb = 0;
  let ticks = 0;
  for (const p of pids) {
    rssKb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]);
    const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return { rssKb, cpuSeconds: ticks / 100 };
}

describe('verdict stream on the lab', () => {
  let cluster: Cluster;
  let follower: LabProcess | undefined;

  beforeAll(async () => {
    requireTools(['curl', 'tcpdump', 'python3']);
    cluster = await startCluster();
    await cluster.apply({
      pods: [
        { namespace: 'mon', name: 'web', node: 'node2', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] },
        { namespace: 'mon', name: 'db', node: 'node2', labels: { app: 'db' }, ports: [{ name: 'pg', containerPort: 5432, protocol: 'TCP' }] },
        { namespace: 'mon', name: 'client', node: 'node1', labels: { app: 'client' } },
        { namespace: 'mon', name: 'noisy', node: 'node1', labels: { app: 'noisy' } },
        { namespace: 'mon', name: 'quiet', node: 'node1', labels: { app: 'quiet' } },
      ],
      policies: POLICIES,
      outside: [{ port: 443, protocol: 'TCP' }],
    });
  });

  afterAll(async () => {
    await follower?.stop();
    await cluster?.stop();
  });

  it('streams each denied probe with node, direction, ends, port, protocol and isolating policies, also to `bulkhead monitor -o json`', async () => {
    // --recent: the records the agent holds first (the process may connect after the probes), then live ones.
    follower = await cluster.lab.runInNode(cluster.lab.node('node2'), [process.execPath, BUILT_CLI, 'monitor', '--agent', AGENT, '--pod', 'mon/web', '--recent', '-o', 'json'], { name: 'bulkhead-monitor' });
    const probes: Probe[] = [
      { from: 'mon/client', to: 'mon/web', port: 80, protocol: 'TCP' },
      { from: 'mon/client', to: 'mon/web', port: 80, protocol: 'TCP', family: 6 },
      { from: 'mon/quiet', to: 'mon/db', port: 53, protocol: 'UDP' },
      { from: 'mon/client', to: { ip: cluster.lab.outside!.ipv4[0]! }, port: 443, protocol: 'TCP' },
    ];
    const results = await cluster.probe(probes);
    expect(results.map((r) => r.verdictOutcome)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(results.map((r) => r.outcome)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    const egress = results[3]!;

    const webPolicies = ['mon/web-default-deny', 'mon/web-from-admin'];
    const expectedWeb = { node: 'node2', direction: 'ingress', from: 'mon/client', to: 'mon/web', port: 80, protocol: 'TCP', verdict: 'dropped', policies: webPolicies } as const;
    const web = await recordLike(cluster, 'node2', 'pod=mon/web', expectedWeb);
    expect(Date.now() - Date.parse(web.time)).toBeLessThan(60_000);
    // The IPv6 probe: the same pods, resolved from IPv6 addresses.
    const v6 = await until('both probes to web', async () => {
      const records = (await recentRecords(cluster, 'node2', 'pod=mon/web')).filter((r) => r.from === 'mon/client' && r.port === 80);
      return records.length >= 2 ? records : undefined;
    });
    expect(v6.every((r) => JSON.stringify(r.policies) === JSON.stringify(webPolicies))).toBe(true);
    expect(await recordLike(cluster, 'node2', 'pod=mon/db&verdict=dropped', { to: 'mon/db', from: 'mon/quiet', port: 53, protocol: 'UDP', policies: ['mon/db-closed'] })).toBeDefined();
    expect(await recordLike(cluster, 'node1', 'pod=mon/client', { direction: 'egress', from: 'mon/client', to: egress.destinationIP, port: 443, policies: ['mon/client-egress'] })).toMatchObject({ node: 'node1' });
    // Filters: the web records are not db's, and no audit records exist.
    expect((await recentRecords(cluster, 'node2', 'pod=mon/db')).every((r) => r.to === 'mon/db')).toBe(true);
    expect(await recentRecords(cluster, 'node2', 'verdict=audit')).toEqual([]);

    // The CLI process printed the same records as JSON lines, web's only; then a new probe, live.
    const printed = (count: number) =>
      until(() => `${count} lines of bulkhead monitor (stderr: ${readFileSync(follower!.stderrPath, 'utf8')})`, async () => {
        const lines = readFileSync(follower!.stdoutPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FlowRecord);
        return lines.length >= count ? lines : undefined;
      });
    const first = await printed(2);
    expect(first.every((r) => r.to === 'mon/web' || r.from === 'mon/web')).toBe(true);
    expect(first).toEqual(expect.arrayContaining([expect.objectContaining(expectedWeb)]));
    expect((await cluster.probe([{ from: 'mon/client', to: 'mon/web', port: 80, protocol: 'TCP' }]))[0]!.outcome).toBe('timeout');
    const live = (await printed(first.length + 1)).slice(first.length);
    expect(live[0]).toMatchObject(expectedWeb);
    expect(Date.parse(live[0]!.time)).toBeGreaterThan(Date.parse(first[first.length - 1]!.time));
    await follower.stop();
    follower = undefined;
  });

  it('stays responsive through a flood of denied packets, bounds its records by the kernel rate, and still streams another pod\'s drop', async () => {
    const agent = cluster.agents.find((a) => a.node.name === 'node2')!;
    const before = usage(agent.process.pid);
    const recordsBefore = await metric(cluster, 'node2', /^bulkhead_monitor_records_total\{verdict="dropped"\}/);
    const droppedBefore = await metric(cluster, 'node2', /^bulkhead_dropped_packets_total\{namespace="mon",pod="web",direction="ingress"\}/);
    const webIP = cluster.addressOf('mon/web');
    const started = Date.now();
    // 20,000 datagrams in 2 s from one socket: each is a new flow to conntrack (none is ever let through).
    const flood = cluster.lab.exec(cluster.pod('mon/noisy'), [
      'python3',
      '-c',
      `import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor burst in range(20):\n    for i in range(1000):\n        s.sendto(b'x', ('${webIP}', 9))\n    time.sleep(0.1)\n`,
    ], { timeoutMs: 30_000 });

    // During the flood: health answers, and a quiet pod's one denied connection (db's own bucket) is streamed.
    const latencies: number[] = [];
    const quiet = cluster.probe([{ from: 'mon/quiet', to: 'mon/db', port: 5432, protocol: 'TCP' }]);
    let flooding = true;
    void flood.finally(() => (flooding = false));
    while (flooding) {
      const { stdout } = await run('ip', ['netns', 'exec', netnsOf(cluster, 'node2'), 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '--max-time', '5', `${AGENT}/healthz`]);
      const [code, seconds] = stdout.split(' ');
      expect(code).toBe('200');
      latencies.push(Number(seconds) * 1000);
    }
    const floodResult = await flood;
    expect(floodResult.code).toBe(0);
    const elapsedS = (Date.now() - started) / 1000;
    expect((await quiet)[0]!.outcome).toBe('timeout');
    await recordLike(cluster, 'node2', 'pod=mon/db', { from: 'mon/quiet', to: 'mon/db', port: 5432, protocol: 'TCP', policies: ['mon/db-closed'] });

    const after = usage(agent.process.pid);
    const noisyRecords = (await recentRecords(cluster, 'node2', 'pod=mon/noisy')).filter((r) => Date.parse(r.time) >= started - 1000);
    const recordsAfter = await metric(cluster, 'node2', /^bulkhead_monitor_records_total\{verdict="dropped"\}/);
    const droppedAfter = await metric(cluster, 'node2', /^bulkhead_dropped_packets_total\{namespace="mon",pod="web",direction="ingress"\}/);
    const figures = {
      elapsedS,
      healthChecks: latencies.length,
      worstHealthMs: Math.max(...latencies),
      rssKb: [before.rssKb, after.rssKb],
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      kernelDrops: droppedAfter - droppedBefore,
      noisyRecords: noisyRecords.length,
      streamRecords: recordsAfter - recordsBefore,
    };
    console.log(`flood figures: ${JSON.stringify(figures)}`);

    expect(figures.kernelDrops).toBeGreaterThanOrEqual(19_000);
    expect(latencies.length).toBeGreaterThan(3);
    expect(figures.worstHealthMs).toBeLessThan(200);
    // The kernel's per-pod bucket: 20 at once, then 10 a second.
    expect(figures.noisyRecords).toBeGreaterThanOrEqual(20);
    expect(figures.noisyRecords).toBeLessThanOrEqual(20 + Math.ceil(10 * (elapsedS + 1)));
    expect(figures.noisyRecords).toEqual(noisyRecords.filter((r) => r.from === 'mon/noisy' && r.to === 'mon/web' && r.port === 9 && r.protocol === 'UDP').length);
    expect(figures.rssKb[1]! - figures.rssKb[0]!).toBeLessThan(30 * 1024);
    expect(figures.cpuSeconds).toBeLessThan(elapsedS / 2);
  });
});
