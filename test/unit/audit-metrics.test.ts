// Audit counters: read from the kernel with the drop counters (one read per scrape), attributed to each audit
// policy of the pod and direction, and shown as bulkhead_audit_packets_total / _bytes_total.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { kernelCountersOf } from '../../src/agent/drop-counts.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { planObjectOwners } from '../../src/agent/plan-owners.js';
import type { Plan } from '../../src/compile/index.js';

const plan: Plan = {
  tables: [],
  counters: { drop_in_prod_db: { namespace: 'prod', pod: 'db', direction: 'ingress' } },
  auditCounters: {
    audit_in_prod_web: { namespace: 'prod', pod: 'web', direction: 'ingress', policies: ['prod/lockdown', 'prod/web-only'] },
    audit_out_prod_web: { namespace: 'prod', pod: 'web', direction: 'egress', policies: ['prod/lockdown'] },
  },
};
const readings = [
  { name: 'drop_in_prod_db', packets: 7, bytes: 420 },
  { name: 'audit_in_prod_web', packets: 3, bytes: 180 },
  { name: 'audit_out_prod_web', packets: 0, bytes: 0 },
  { name: 'audit_in_someone_else', packets: 9, bytes: 900 },
];

describe('audit counts', () => {
  it('attribute each audit counter of the plan to every audit policy of its pod and direction; drops stay drops', () => {
    expect(kernelCountersOf(plan, readings)).toEqual({
      drops: [{ namespace: 'prod', pod: 'db', direction: 'ingress', packets: 7, bytes: 420 }],
      audits: [
        { namespace: 'prod', pod: 'web', direction: 'ingress', policy: 'prod/lockdown', packets: 3, bytes: 180 },
        { namespace: 'prod', pod: 'web', direction: 'ingress', policy: 'prod/web-only', packets: 3, bytes: 180 },
        { namespace: 'prod', pod: 'web', direction: 'egress', policy: 'prod/lockdown', packets: 0, bytes: 0 },
      ],
    });
    expect(kernelCountersOf({ ...plan, auditCounters: undefined }, readings)).toEqual({
      drops: [{ namespace: 'prod', pod: 'db', direction: 'ingress', packets: 7, bytes: 420 }],
    });
  });

  it('are metrics per namespace, pod, direction and policy, from the same single read as the drops', async () => {
    let reads = 0;
    const registry = new Registry();
    createAgentMetrics(
      registry,
      {
        counters: async () => {
          reads++;
          return kernelCountersOf(plan, readings);
        },
        watchStatus: () => undefined,
        known: () => undefined,
        applied: () => plan,
        lastSuccessfulSyncAt: () => undefined,
        ready: () => true,
      },
      pino({ level: 'silent' }),
    );
    const text = await registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('\nbulkhead_audit_packets_total{namespace="prod",pod="web",direction="ingress",policy="prod/lockdown"} 3\n');
    expect(text).toContain('\nbulkhead_audit_packets_total{namespace="prod",pod="web",direction="ingress",policy="prod/web-only"} 3\n');
    expect(text).toContain('\nbulkhead_audit_bytes_total{namespace="prod",pod="web",direction="egress",policy="prod/lockdown"} 0\n');
    expect(text).toContain('\nbulkhead_dropped_packets_total{namespace="prod",pod="db",direction="ingress"} 7\n');
    expect(text).not.toContain('pod="web",direction="ingress"} ');
    // Audit pods are not isolated: the gauge counts drop counters only.
    expect(text).toContain('\nbulkhead_local_isolated_pods{direction="ingress"} 1\n');
  });
});

describe('audit chains in nft errors', () => {
  it('name the pod behind an audit chain or counter, as for drop ones', () => {
    const withChain: Plan = {
      ...plan,
      tables: [
        {
          family: 'inet',
          name: 'bulkhead',
          counters: ['audit_in_prod_web', 'audit_out_prod_web', 'drop_in_prod_db'],
          sets: [],
          chains: [{ name: 'pod_in_prod_web', rules: [{ expr: [{ counter: 'audit_in_prod_web' }] }] }],
        },
      ],
    };
    const target = { verb: 'add', family: 'inet', table: 'bulkhead' } as const;
    expect(planObjectOwners([withChain], { ...target, kind: 'chain', name: 'pod_in_prod_web' })).toEqual(['Pod prod/web (ingress)']);
    expect(planObjectOwners([withChain], { ...target, kind: 'counter', name: 'audit_out_prod_web' })).toEqual(['Pod prod/web (egress)']);
  });
});
