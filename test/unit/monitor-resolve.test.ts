// A denied packet -> flow record: the pod and direction from the log prefix through the plan in force, the other
// end named as a pod when the snapshot knows its address, the isolating policies of the pod in that direction.
// Packets are the real ones of test/fixtures/monitor/nflog-forward.pcap (10.91.1.2 -> 10.91.2.2, fd91:1::2 -> fd91:2::2).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNflog, type NflogRecord } from '../../src/agent/monitor/nflog.js';
import { pcapReader } from '../../src/agent/monitor/pcap-stream.js';
import { type EnforcedView, resolveDenied } from '../../src/agent/monitor/resolve.js';
import { compilePlan } from '../../src/compile/index.js';
import { namespace, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const packets: NflogRecord[] = pcapReader()
  .push(readFileSync(new URL('../fixtures/monitor/nflog-forward.pcap', import.meta.url)))
  .map((record) => parseNflog(record.data) as NflogRecord);
const [tcp4, udp4, tcp6, corruptUdp6, sctp4, icmp4] = packets as [NflogRecord, NflogRecord, NflogRecord, NflogRecord, NflogRecord, NflogRecord];

const NODE = 'node-a';
const web = pod('demo/web', { labels: { app: 'web' }, ips: ['10.91.2.2', 'fd91:2::2'], nodeName: NODE });
const client = pod('demo/client', { labels: { app: 'client' }, ips: ['10.91.1.2', 'fd91:1::2'], nodeName: 'node-b' });
const webClosed = policy('demo/web-closed', { podSelector: selector({ app: 'web' }) });
const webFromAdmin = policy('demo/web-from-admin', {
  podSelector: selector({ app: 'web' }),
  ingress: [rule([podPeer({ podSelector: selector({ app: 'admin' }) })], [port(80)])],
});
const clientEgress = policy('demo/client-egress', { podSelector: selector({ app: 'client' }), policyTypes: ['egress'] });

function view(pods = [web, client], policies = [webClosed, webFromAdmin, clientEgress], node = NODE): EnforcedView {
  const snapshot = snapshotOf({ namespaces: [namespace('demo')], pods, policies });
  return { snapshot, plan: compilePlan(snapshot, { nodeName: node, bindings: [] }).plan };
}

const at = (packet: NflogRecord, prefix = packet.prefix): NflogRecord => ({ ...packet, prefix });
const TIME = Date.parse('2026-11-23T23:12:52.481Z');

describe('resolveDenied', () => {
  it('names the pod, the direction, both ends, the port, the protocol and the isolating policies', () => {
    expect(resolveDenied(tcp4, TIME, { view: view(), nodeName: NODE })).toEqual({
      kind: 'record',
      record: {
        time: '2026-11-23T23:12:52.481Z',
        node: NODE,
        direction: 'ingress',
        from: 'demo/client',
        to: 'demo/web',
        port: 80,
        protocol: 'TCP',
        verdict: 'dropped',
        policies: ['demo/web-closed', 'demo/web-from-admin'],
      },
    });
    expect(resolveDenied(udp4, TIME, { view: view(), nodeName: NODE })).toMatchObject({ record: { port: 53, protocol: 'UDP' } });
    expect(resolveDenied(tcp6, TIME, { view: view(), nodeName: NODE })).toMatchObject({ record: { from: 'demo/client', to: 'demo/web', port: 443 } });
    expect(resolveDenied(sctp4, TIME, { view: view(), nodeName: NODE })).toMatchObject({ record: { port: 3868, protocol: 'SCTP' } });
  });

  it('names an end the snapshot does not know by its address', () => {
    expect(resolveDenied(tcp4, TIME, { view: view([web]), nodeName: NODE })).toMatchObject({ record: { from: '10.91.1.2', to: 'demo/web' } });
    expect(resolveDenied(tcp6, TIME, { view: view([web]), nodeName: NODE })).toMatchObject({ record: { from: 'fd91:1::2' } });
  });

  it('resolves egress drops with the pod as the source and its egress policies', () => {
    // The same packets, as if logged by the client's egress chain on its own node.
    const egress = view(undefined, undefined, 'node-b');
    expect(Object.keys(egress.plan.counters)).toEqual(['drop_out_demo_client']);
    expect(resolveDenied(at(tcp4, 'drop_out_demo_client'), TIME, { view: egress, nodeName: 'node-b' })).toMatchObject({
      record: { node: 'node-b', direction: 'egress', from: 'demo/client', to: 'demo/web', port: 80, policies: ['demo/client-egress'] },
    });
  });

  it('skips what is no flow of the plan in force, saying why', () => {
    const context = { view: view(), nodeName: NODE };
    expect(resolveDenied(tcp4, TIME, { view: undefined, nodeName: NODE })).toMatchObject({ kind: 'skipped', reason: 'not-ready' });
    expect(resolveDenied(at(tcp4, 'drop_in_demo_gone'), TIME, context)).toMatchObject({ kind: 'skipped', reason: 'unknown-counter' });
    expect(resolveDenied(at(tcp4, 'constructor'), TIME, context)).toMatchObject({ kind: 'skipped', reason: 'unknown-counter' });
    expect(resolveDenied(icmp4, TIME, context)).toMatchObject({ kind: 'skipped', reason: 'other-protocol' });
    // The packet the kernel handed over with overwritten bytes names an address that is not the pod's.
    expect(resolveDenied(corruptUdp6, TIME, context)).toEqual({
      kind: 'skipped',
      reason: 'malformed',
      detail: expect.stringMatching(/^logged by ingress chain of demo\/web, but its address there is /) as string,
    });
  });
});
