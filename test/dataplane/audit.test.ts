// Audit mode against real packets on the lab: an audit-mode deny-all (bulkhead.io/enforcement: audit) lets
// traffic pass and the agent of the pod's node counts it, on /metrics, for the right pod, direction and policy,
// and streams it on /monitor as verdict "audit"; turning the annotation to enforce blocks new connections from the
// sync that applies it on, never flapping back.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/advise/flow-record.js';
import type { NetworkPolicy } from '../../src/model/types.js';
import { ENFORCEMENT_ANNOTATION } from '../../src/policy/index.js';
import { policy, selector } from '../support/builders.js';
import { type ClusterRun, runRandomCluster } from './differential.js';
import { type Cluster, type PodDeclaration, type Probe, requireTools, startCluster } from './harness.js';

const run = promisify(execFile);
const AGENT_PORT = 9650;

/** The records /monitor still holds for this query (recent=1), read for a moment (the stream stays open). */
async function monitorRecords(cluster: Cluster, nodeName: string, query: string): Promise<FlowRecord[]> {
  const node = cluster.lab.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no lab node ${nodeName}`);
  const stdout = await run('ip', ['netns', 'exec', node.netns, 'curl', '-sSN', '--max-time', '1', `http://127.0.0.1:${AGENT_PORT}/monitor?recent=1&${query}`]).then(
    () => {
      throw new Error('curl /monitor ended before its timeout: the stream should stay open');
    },
    (error: { code?: number; stdout?: string; stderr?: string }) => {
      if (error.code !== 28) throw new Error(`curl /monitor exited ${String(error.code)}: ${error.stderr ?? ''}`);
      return error.stdout ?? '';
    },
  );
  return stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as FlowRecord);
}

async function metricsOf(cluster: Cluster, nodeName: string): Promise<string> {
  const node = cluster.lab.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no lab node ${nodeName}`);
  const { stdout } = await run('ip', ['netns', 'exec', node.netns, 'curl', '-sS', '--fail', '--max-time', '10', `http://127.0.0.1:${AGENT_PORT}/metrics`]);
  return stdout;
}

/** One metric's series, keyed by their label values joined with `/` in label order. */
function series(metrics: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    const match = new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`).exec(line);
    if (!match) continue;
    found.set([...match[1]!.matchAll(/\w+="([^"]*)"/g)].map((m) => m[1]).join('/'), Number(match[2]));
  }
  return found;
}

function withMode(p: NetworkPolicy, mode: string | undefined): NetworkPolicy {
  return { ...p, annotations: mode === undefined ? {} : { [ENFORCEMENT_ANNOTATION]: mode } };
}

describe('audit mode on the lab', () => {
  let cluster: Cluster;
  const pods: PodDeclaration[] = [
    { namespace: 'aud', name: 'client', node: 'node1', labels: { app: 'client' } },
    { namespace: 'aud', name: 'web', node: 'node2', labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] },
  ];
  const webLockdown = policy('aud/web-lockdown', { podSelector: selector({ app: 'web' }), policyTypes: ['ingress'] });
  const clientNoEgress = policy('aud/client-no-egress', { podSelector: selector({ app: 'client' }), policyTypes: ['egress'] });
  const toWeb: Probe = { from: 'aud/client', to: 'aud/web', port: 80, protocol: 'TCP' };

  beforeAll(async () => {
    requireTools(['curl']);
    cluster = await startCluster();
    await cluster.apply({ pods, policies: [withMode(webLockdown, 'audit'), withMode(clientNoEgress, 'audit')] });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('lets audited traffic pass and counts it per pod, direction and policy, on the pod\'s node', async () => {
    const results = await cluster.probe([toWeb, toWeb, toWeb]);
    expect(results.map((r) => r.outcome)).toEqual(['connected', 'connected', 'connected']);
    expect(results.every((r) => r.verdict.allowed && r.verdict.audit === true)).toBe(true);

    const node1 = await metricsOf(cluster, 'node1');
    const node2 = await metricsOf(cluster, 'node2');
    // One count per new connection: the pod chains see only the first packet of each.
    expect(series(node2, 'bulkhead_audit_packets_total')).toEqual(new Map([['aud/web/ingress/aud/web-lockdown', 3]]));
    expect(series(node1, 'bulkhead_audit_packets_total')).toEqual(new Map([['aud/client/egress/aud/client-no-egress', 3]]));
    expect(series(node2, 'bulkhead_audit_bytes_total').get('aud/web/ingress/aud/web-lockdown')).toBeGreaterThan(0);
    // Nothing was dropped, and audit-only pods are not isolated.
    expect(series(node1, 'bulkhead_dropped_packets_total').size + series(node2, 'bulkhead_dropped_packets_total').size).toBe(0);
    expect(node2).toContain('\nbulkhead_local_isolated_pods{direction="ingress"} 0\n');
    // The kernel's chain: the log with the audit prefix, the audit counter, no drop.
    const chain = await cluster.chainListing('aud/web', 'ingress');
    expect(chain).toContain('log prefix "audit_in_aud_web" group 8421');
    expect(chain).toContain('counter name "audit_in_aud_web"');
    expect(chain).not.toContain('drop');

    // The verdict stream: each connection once, as audit, with the audit policy that would have denied it.
    const pick = ({ direction, from, to, port, protocol, verdict, policies }: FlowRecord) => ({ direction, from, to, port, protocol, verdict, policies });
    const ingress = (await monitorRecords(cluster, 'node2', 'verdict=audit')).map(pick);
    const egress = (await monitorRecords(cluster, 'node1', 'verdict=audit')).map(pick);
    const record = { from: 'aud/client', to: 'aud/web', port: 80, protocol: 'TCP', verdict: 'audit' };
    expect(ingress).toEqual([1, 2, 3].map(() => ({ ...record, direction: 'ingress', policies: ['aud/web-lockdown'] })));
    expect(egress).toEqual([1, 2, 3].map(() => ({ ...record, direction: 'egress', policies: ['aud/client-no-egress'] })));
    expect(await monitorRecords(cluster, 'node2', 'verdict=dropped')).toEqual([]);
  });

  it('blocks new connections from the sync that turns the annotation to enforce on, and counts them as drops', async () => {
    // Probes run back to back while the change is applied: every probe after the first blocked one is blocked.
    const outcomes: string[] = [];
    let applying = true;
    const prober = (async () => {
      while (applying) outcomes.push(...(await cluster.probe([toWeb])).map((r) => r.outcome));
    })();
    await cluster.apply({ pods, policies: [withMode(webLockdown, 'enforce'), withMode(clientNoEgress, 'audit')] }, { flushConntrack: false });
    applying = false;
    await prober;
    const after = await cluster.probe([toWeb, toWeb]);
    expect(after.map((r) => [r.outcome, r.verdictOutcome])).toEqual([
      ['timeout', 'timeout'],
      ['timeout', 'timeout'],
    ]);
    const firstBlocked = outcomes.indexOf('timeout');
    if (firstBlocked >= 0) expect(outcomes.slice(firstBlocked).every((o) => o === 'timeout'), outcomes.join(' ')).toBe(true);
    expect(outcomes.every((o) => o === 'connected' || o === 'timeout'), outcomes.join(' ')).toBe(true);

    const node2 = await metricsOf(cluster, 'node2');
    expect(series(node2, 'bulkhead_dropped_packets_total').get('aud/web/ingress')).toBeGreaterThanOrEqual(2);
    expect(series(node2, 'bulkhead_audit_packets_total').size).toBe(0);
    expect(await cluster.chainListing('aud/web', 'ingress')).toContain('counter name "drop_in_aud_web" drop');
    // The egress audit on node1 still counts: the probes passed its chain before web's ingress dropped them.
    expect(series(await metricsOf(cluster, 'node1'), 'bulkhead_audit_packets_total').get('aud/client/egress/aud/client-no-egress')).toBeGreaterThanOrEqual(5);
  });

  it('removing the annotation enforces too; back to audit lets traffic pass again', async () => {
    await cluster.apply({ pods, policies: [withMode(webLockdown, undefined), withMode(clientNoEgress, 'audit')] });
    expect((await cluster.probe([toWeb]))[0]!.outcome).toBe('timeout');
    await cluster.apply({ pods, policies: [withMode(webLockdown, 'audit'), withMode(clientNoEgress, 'audit')] });
    expect((await cluster.probe([toWeb]))[0]!.outcome).toBe('connected');
  });
});

describe('a namespace in audit mode, read from the API server', () => {
  let cluster: Cluster;
  const pods: PodDeclaration[] = [
    { namespace: 'shop', name: 'client', node: 'node1', labels: { app: 'client' } },
    { namespace: 'shop', name: 'db', node: 'node2', labels: { app: 'db' }, ports: [{ name: 'pg', containerPort: 5432, protocol: 'TCP' }] },
  ];
  const dbLockdown = policy('shop/db-lockdown', { podSelector: selector({ app: 'db' }), policyTypes: ['ingress'] });
  const toDb: Probe = { from: 'shop/client', to: 'shop/db', port: 5432, protocol: 'TCP' };
  const shop = (mode: string) => [{ name: 'shop', annotations: { [ENFORCEMENT_ANNOTATION]: mode } }];

  beforeAll(async () => {
    requireTools(['curl']);
    cluster = await startCluster({ source: 'api' });
    await cluster.apply({ namespaces: shop('audit'), pods, policies: [dbLockdown] });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('covers the namespace\'s policies; annotating the namespace enforce blocks, audit again lets pass', async () => {
    const [audit] = await cluster.probe([toDb]);
    expect([audit!.outcome, audit!.verdict.audit]).toEqual(['connected', true]);
    expect(series(await metricsOf(cluster, 'node2'), 'bulkhead_audit_packets_total')).toEqual(new Map([['shop/db/ingress/shop/db-lockdown', 1]]));

    const report = await cluster.apply({ namespaces: shop('enforce'), pods, policies: [dbLockdown] });
    expect(report.changes).toEqual(['namespace/shop configured']);
    const [enforced] = await cluster.probe([toDb]);
    expect([enforced!.outcome, enforced!.verdictOutcome]).toEqual(['timeout', 'timeout']);
    expect(series(await metricsOf(cluster, 'node2'), 'bulkhead_dropped_packets_total').get('shop/db/ingress')).toBe(1);

    await cluster.apply({ namespaces: shop('audit'), pods, policies: [dbLockdown] });
    expect((await cluster.probe([toDb]))[0]!.outcome).toBe('connected');
  });
});

// The differential check of differential.test.ts with about half of each random cluster's policies in audit mode:
// the kernel must do what the enforced verdict says, audit connections passing.
describe('the kernel agrees with the enforced verdict on random clusters with audit policies', () => {
  const CLUSTERS = 6;
  const FIRST_SEED = 20_261_123;
  let cluster: Cluster;
  const runs: ClusterRun[] = [];
  const auditPackets = async () => {
    const counts = await Promise.all(['node1', 'node2'].map(async (node) => [...series(await metricsOf(cluster, node), 'bulkhead_audit_packets_total').values()]));
    return counts.flat().reduce((sum, n) => sum + n, 0);
  };

  beforeAll(async () => {
    cluster = await startCluster({ probeConcurrency: 128 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  for (let i = 0; i < CLUSTERS; i++) {
    const seed = FIRST_SEED + i;
    it(`seed ${seed}`, async () => {
      const run = await runRandomCluster(cluster, seed, undefined, undefined, (p, index) => withMode(p, (seed + index) % 2 === 0 ? 'audit' : undefined));
      runs.push(run);
      expect(run.disagreements.join('\n\n')).toBe('');
      // An audit connection that passed went through an audit chain, whose counter (under each of its policies) rose.
      if (run.results.some((r) => r.verdict.audit === true && r.outcome === 'connected')) expect(await auditPackets()).toBeGreaterThan(0);
    }, 120_000);
  }

  // Without these, clusters whose audit policies never mattered would pass everything above.
  it('probed audit connections and enforced denials', () => {
    const results = runs.flatMap((run) => run.results);
    expect(runs).toHaveLength(CLUSTERS);
    expect(results.filter((r) => r.verdict.audit === true && r.outcome === 'connected').length).toBeGreaterThanOrEqual(10);
    expect(results.filter((r) => r.outcome === 'timeout').length).toBeGreaterThanOrEqual(20);
  });
});
