// The agent's metrics as Prometheus scrapes them, from a registry fed by a stand-in for the agent.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { stateResourceVersion } from '../../src/agent/api-source.js';
import { kernelCountersOf } from '../../src/agent/drop-counts.js';
import { type AgentMetricsSource, createAgentMetrics } from '../../src/agent/metrics.js';
import type { Plan } from '../../src/compile/index.js';
import type { ListWatchStatus } from '../../src/kube/index.js';

const watchStatus = (restarts: Partial<ListWatchStatus['restarts']>, up: boolean): ListWatchStatus => ({
  resourceVersion: '1200',
  listed: true,
  restarts: { closed: 0, error: 0, stalled: 0, expired: 0, resync: 0, ...restarts },
  listFailures: 0,
  up,
});

const plan: Plan = {
  tables: [],
  counters: {
    drop_in_prod_db: { namespace: 'prod', pod: 'db', direction: 'ingress' },
    drop_in_prod_api: { namespace: 'prod', pod: 'api', direction: 'ingress' },
    drop_out_prod_api: { namespace: 'prod', pod: 'api', direction: 'egress' },
  },
};

function scrapeWith(source: Partial<AgentMetricsSource>): { registry: Registry; reads: () => number } {
  let reads = 0;
  const registry = new Registry();
  createAgentMetrics(
    registry,
    {
      counters: async () => {
        reads++;
        return {
          drops: [
            { namespace: 'prod', pod: 'db', direction: 'ingress', packets: 7, bytes: 420 },
            { namespace: 'prod', pod: 'api', direction: 'egress', packets: 2, bytes: 120 },
          ],
        };
      },
      watchStatus: () => undefined,
      known: () => undefined,
      applied: () => undefined,
      lastSuccessfulSyncAt: () => undefined,
      ready: () => false,
      ...source,
    },
    pino({ level: 'silent' }),
  );
  return { registry, reads: () => reads };
}

describe('agent metrics', () => {
  it('reads the drop counters once per scrape, for packets and bytes', async () => {
    const { registry, reads } = scrapeWith({});
    const text = await registry.metrics();
    expect(text).toContain('\nbulkhead_dropped_packets_total{namespace="prod",pod="db",direction="ingress"} 7\n');
    expect(text).toContain('\nbulkhead_dropped_bytes_total{namespace="prod",pod="api",direction="egress"} 120\n');
    expect(reads()).toBe(1);
    // Without the unknown-local-pods guard, nothing is dropped by it.
    expect(text).toContain('\nbulkhead_unknown_local_pods_dropped_packets_total 0\n');
  });

  it('shows what the unknown-local-pods guard dropped', async () => {
    const { registry } = scrapeWith({ counters: async () => ({ drops: [], unknownLocalPods: { packets: 4, bytes: 240 } }) });
    const text = await registry.metrics();
    expect(text).toContain('\nbulkhead_unknown_local_pods_dropped_packets_total 4\n');
    expect(text).toContain('\nbulkhead_unknown_local_pods_dropped_bytes_total 240\n');
  });

  it('keeps the last drop counts read when the kernel cannot be read', async () => {
    let fail = false;
    const { registry } = scrapeWith({
      counters: async () => {
        if (fail) throw new Error('nft: no such table');
        return { drops: [{ namespace: 'prod', pod: 'db', direction: 'ingress', packets: 3, bytes: 180 }] };
      },
    });
    await registry.metrics();
    fail = true;
    expect(await registry.metrics()).toContain('bulkhead_dropped_packets_total{namespace="prod",pod="db",direction="ingress"} 3\n');
  });

  it('shows the watches per resource and reason, known objects, isolated pods, the last sync, readiness and the build', async () => {
    const { registry } = scrapeWith({
      watchStatus: () => ({ namespaces: watchStatus({}, true), pods: watchStatus({ error: 3, expired: 1 }, false), networkpolicies: watchStatus({ resync: 2 }, true) }),
      known: () => ({ namespaces: 4, pods: 120, policies: 9 }),
      applied: () => plan,
      lastSuccessfulSyncAt: () => 1_700_000_000_500,
      ready: () => true,
    });
    const text = await registry.metrics();
    for (const line of [
      'bulkhead_watch_restarts_total{resource="pods",reason="error"} 3',
      'bulkhead_watch_restarts_total{resource="pods",reason="expired"} 1',
      'bulkhead_watch_restarts_total{resource="networkpolicies",reason="resync"} 2',
      'bulkhead_watch_restarts_total{resource="namespaces",reason="closed"} 0',
      'bulkhead_watch_up{resource="pods"} 0',
      'bulkhead_watch_up{resource="namespaces"} 1',
      'bulkhead_pods 120',
      'bulkhead_namespaces 4',
      'bulkhead_network_policies 9',
      'bulkhead_local_isolated_pods{direction="ingress"} 2',
      'bulkhead_local_isolated_pods{direction="egress"} 1',
      'bulkhead_last_successful_sync_timestamp_seconds 1700000000.5',
      'bulkhead_ready 1',
      'bulkhead_sync_failures_total 0',
      'bulkhead_sync_duration_seconds_count 0',
    ]) {
      expect(text).toContain(`\n${line}\n`);
    }
    expect(text).toMatch(/\nbulkhead_build_info\{version="\d+\.\d+\.\d+",nodejs="v\d+\.\d+\.\d+"\} 1\n/);
    expect(text).toContain('# TYPE bulkhead_watch_restarts_total counter');
    expect(text).toContain('# TYPE bulkhead_sync_duration_seconds histogram');
  });

  it('has no watch series for the manifests source, and zeros before the first sync', async () => {
    const text = await scrapeWith({}).registry.metrics();
    expect(text).not.toMatch(/\nbulkhead_watch_(restarts_total|up)\{/);
    expect(text).toContain('\nbulkhead_ready 0\n');
    expect(text).toContain('\nbulkhead_pods 0\n');
    expect(text).toContain('\nbulkhead_last_successful_sync_timestamp_seconds 0\n');
    expect(text).toContain('\nbulkhead_local_isolated_pods{direction="ingress"} 0\n');
  });
});

describe('stateResourceVersion', () => {
  it('is the oldest of the watches\' resourceVersions, compared as numbers', () => {
    expect(stateResourceVersion(['1200', '998', '1050'])).toBe('998');
    expect(stateResourceVersion(['10', '9'])).toBe('9');
    expect(stateResourceVersion(['1300', '1300', '1300'])).toBe('1300');
    expect(stateResourceVersion(['20015', '20009', '20100'])).toBe('20009');
  });
});

describe('kernelCountersOf', () => {
  const readings = [
    { name: 'drop_in_prod_db', packets: 7, bytes: 420 },
    { name: 'drop_out_prod_api', packets: 1, bytes: 60 },
    { name: 'unknown_local_pods', packets: 4, bytes: 240 },
    { name: 'someone_elses', packets: 9, bytes: 900 },
  ];

  it('names each pod counter of the plan by its pod and direction, and reads the guard\'s when the plan has it', () => {
    expect(kernelCountersOf({ ...plan, unknownLocalPodsCounter: 'unknown_local_pods' }, readings)).toEqual({
      drops: [
        { namespace: 'prod', pod: 'db', direction: 'ingress', packets: 7, bytes: 420 },
        { namespace: 'prod', pod: 'api', direction: 'egress', packets: 1, bytes: 60 },
      ],
      unknownLocalPods: { packets: 4, bytes: 240 },
    });
    expect(kernelCountersOf(plan, readings).unknownLocalPods).toBeUndefined();
  });
});
