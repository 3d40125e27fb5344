// An allowed packet (the --monitor-allowed sample) -> flow record: egress when its source is a pod of this node,
// else ingress when its destination is; skipped when neither end is. Packets are the real ones of
// test/fixtures/monitor/nflog-forward.pcap (10.91.1.2 -> 10.91.2.2), relabelled as the allowed group's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type NflogRecord, parseNflog } from '../../src/agent/monitor/nflog.js';
import { pcapReader } from '../../src/agent/monitor/pcap-stream.js';
import { resolveAllowed } from '../../src/agent/monitor/resolve.js';
import { tcpdumpArguments } from '../../src/agent/monitor/reader.js';
import { ALLOWED_LOG_GROUP, ALLOWED_LOG_PREFIX, compilePlan, DENIED_LOG_GROUP } from '../../src/compile/index.js';
import { namespace, pod, policy, selector, snapshotOf } from '../support/builders.js';

const packets = pcapReader()
  .push(readFileSync(new URL('../fixtures/monitor/nflog-forward.pcap', import.meta.url)))
  .map((record) => ({ ...(parseNflog(record.data) as NflogRecord), group: ALLOWED_LOG_GROUP, prefix: ALLOWED_LOG_PREFIX }));
const [tcp4, udp4, tcp6, , , icmp4] = packets as [NflogRecord, NflogRecord, NflogRecord, NflogRecord, NflogRecord, NflogRecord];

const TIME = Date.parse('2026-11-23T23:50:00.000Z');
const web = pod('demo/web', { labels: { app: 'web' }, ips: ['10.91.2.2', 'fd91:2::2'], nodeName: 'node-a' });
const client = pod('demo/client', { labels: { app: 'client' }, ips: ['10.91.1.2', 'fd91:1::2'], nodeName: 'node-b' });
const clientEgress = policy('demo/client-egress', { podSelector: selector({ app: 'client' }), policyTypes: ['egress'] });

function view(node: string, pods = [web, client]) {
  const snapshot = snapshotOf({ namespaces: [namespace('demo')], pods, policies: [clientEgress] });
  return { snapshot, plan: compilePlan(snapshot, { nodeName: node, bindings: [], monitorAllowed: { ratePerSecond: 10 } }).plan };
}

describe('resolveAllowed', () => {
  it('is egress on the client\'s node, with the policies isolating the client there', () => {
    expect(resolveAllowed(tcp4, TIME, { view: view('node-b'), nodeName: 'node-b' })).toEqual({
      kind: 'record',
      record: {
        time: '2026-11-23T23:50:00.000Z',
        node: 'node-b',
        direction: 'egress',
        from: 'demo/client',
        to: 'demo/web',
        port: 80,
        protocol: 'TCP',
        verdict: 'allowed',
        policies: ['demo/client-egress'],
      },
    });
    expect(resolveAllowed(tcp6, TIME, { view: view('node-b'), nodeName: 'node-b' })).toMatchObject({ record: { direction: 'egress', port: 443 } });
  });

  it('is ingress on the server\'s node, and names an unknown end by its address', () => {
    expect(resolveAllowed(udp4, TIME, { view: view('node-a'), nodeName: 'node-a' })).toMatchObject({
      record: { direction: 'ingress', from: 'demo/client', to: 'demo/web', port: 53, protocol: 'UDP', verdict: 'allowed', policies: [] },
    });
    expect(resolveAllowed(tcp4, TIME, { view: view('node-a', [web]), nodeName: 'node-a' })).toMatchObject({ record: { direction: 'ingress', from: '10.91.1.2' } });
  });

  it('a connection between two pods of the node is the egress of its client', () => {
    const both = [web, { ...client, nodeName: 'node-a' }];
    expect(resolveAllowed(tcp4, TIME, { view: view('node-a', both), nodeName: 'node-a' })).toMatchObject({ record: { direction: 'egress', from: 'demo/client', to: 'demo/web' } });
  });

  it('skips packets of no local pod, of other protocols, and before the first plan', () => {
    expect(resolveAllowed(tcp4, TIME, { view: view('node-c'), nodeName: 'node-c' })).toMatchObject({ kind: 'skipped', reason: 'not-local' });
    expect(resolveAllowed(tcp4, TIME, { view: view('node-a', [{ ...web, hostNetwork: true }, client]), nodeName: 'node-a' })).toMatchObject({ reason: 'not-local' });
    expect(resolveAllowed(icmp4, TIME, { view: view('node-b'), nodeName: 'node-b' })).toMatchObject({ kind: 'skipped', reason: 'other-protocol' });
    expect(resolveAllowed(tcp4, TIME, { view: undefined, nodeName: 'node-b' })).toMatchObject({ kind: 'skipped', reason: 'not-ready' });
  });

  it('one tcpdump reads both groups', () => {
    expect(tcpdumpArguments(DENIED_LOG_GROUP, ALLOWED_LOG_GROUP)).toContain(`nflog:${DENIED_LOG_GROUP},${ALLOWED_LOG_GROUP}`);
  });
});
