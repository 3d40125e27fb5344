// The verdict stream with audit mode: a packet logged by an audit chain (prefix: its audit counter) becomes a
// flow record with verdict "audit" and the audit policies that would have denied it. Packets are the real ones
// of test/fixtures/monitor/nflog-forward.pcap (10.91.1.2 -> 10.91.2.2), relabelled with the audit chain's prefix.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type NflogRecord, parseNflog } from '../../src/agent/monitor/nflog.js';
import { pcapReader } from '../../src/agent/monitor/pcap-stream.js';
import { resolveDenied } from '../../src/agent/monitor/resolve.js';
import { compilePlan } from '../../src/compile/index.js';
import type { NetworkPolicy } from '../../src/model/types.js';
import { ENFORCEMENT_ANNOTATION } from '../../src/policy/index.js';
import { namespace, pod, policy, selector, snapshotOf } from '../support/builders.js';

const [tcp4] = pcapReader()
  .push(readFileSync(new URL('../fixtures/monitor/nflog-forward.pcap', import.meta.url)))
  .map((record) => parseNflog(record.data) as NflogRecord) as [NflogRecord];

const audited = (p: NetworkPolicy): NetworkPolicy => ({ ...p, annotations: { [ENFORCEMENT_ANNOTATION]: 'audit' } });
const web = pod('demo/web', { labels: { app: 'web' }, ips: ['10.91.2.2', 'fd91:2::2'], nodeName: 'node-a' });
const client = pod('demo/client', { labels: { app: 'client' }, ips: ['10.91.1.2', 'fd91:1::2'], nodeName: 'node-b' });
const webClosed = audited(policy('demo/web-closed', { podSelector: selector({ app: 'web' }) }));
const clientEgress = audited(policy('demo/client-egress', { podSelector: selector({ app: 'client' }), policyTypes: ['egress'] }));
const TIME = Date.parse('2026-11-23T23:40:00.000Z');

function view(node: string) {
  const snapshot = snapshotOf({ namespaces: [namespace('demo')], pods: [web, client], policies: [webClosed, clientEgress] });
  return { snapshot, plan: compilePlan(snapshot, { nodeName: node, bindings: [] }).plan };
}

describe('audit records in the verdict stream', () => {
  it('a packet of an audit chain is an audit record naming the audit policies, in each direction', () => {
    const ingress = view('node-a');
    expect(Object.keys(ingress.plan.auditCounters ?? {})).toEqual(['audit_in_demo_web']);
    expect(resolveDenied({ ...tcp4, prefix: 'audit_in_demo_web' }, TIME, { view: ingress, nodeName: 'node-a' })).toEqual({
      kind: 'record',
      record: {
        time: '2026-11-23T23:40:00.000Z',
        node: 'node-a',
        direction: 'ingress',
        from: 'demo/client',
        to: 'demo/web',
        port: 80,
        protocol: 'TCP',
        verdict: 'audit',
        policies: ['demo/web-closed'],
      },
    });
    const egress = view('node-b');
    expect(resolveDenied({ ...tcp4, prefix: 'audit_out_demo_client' }, TIME, { view: egress, nodeName: 'node-b' })).toMatchObject({
      record: { direction: 'egress', from: 'demo/client', to: 'demo/web', verdict: 'audit', policies: ['demo/client-egress'] },
    });
  });

  it('a drop prefix of a pod that is only audited is no counter of the plan', () => {
    expect(resolveDenied({ ...tcp4, prefix: 'drop_in_demo_web' }, TIME, { view: view('node-a'), nodeName: 'node-a' })).toMatchObject({
      kind: 'skipped',
      reason: 'unknown-counter',
    });
  });
});
