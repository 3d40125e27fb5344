// The semantic helpers lint relies on (src/policy/peers.ts namespacesMatchingPeer, src/policy/destinations.ts).
import { describe, expect, it } from 'vitest';
import { podKey } from '../../src/model/types.js';
import { namedPortDestinations, namespacesMatchingPeer, podsAddressedBy } from '../../src/policy/index.js';
import { ipBlock, ipBlockPeer, namespace, pod, podPeer, policy, rule, selector, snapshotOf } from '../support/builders.js';

const web = pod('prod/web', { labels: { app: 'web' }, ips: ['10.0.0.10', 'fd00::10'] });
const db = pod('prod/db', { labels: { app: 'db' }, ips: ['10.0.0.20'] });
const mon = pod('ops/mon', { labels: { app: 'mon' }, ips: ['10.0.2.10'] });
const node = pod('kube-system/agent', { ips: ['192.168.1.1'], hostNetwork: true });
const pods = [web, db, mon, node];
const namespaces = [namespace('prod', { env: 'prod' }), namespace('ops', { env: 'ops' })];
const keys = (list: readonly { namespace: string; name: string }[]) => list.map(podKey).sort();

describe('namespacesMatchingPeer', () => {
  const snapshot = snapshotOf({ namespaces, pods });
  const p = policy('prod/p');
  it.each([
    ['no namespaceSelector: the policy namespace', podPeer({ podSelector: selector() }), ['prod']],
    ['namespaceSelector by label', podPeer({ namespaceSelector: selector({ env: 'ops' }) }), ['ops']],
    ['namespaceSelector {} : every namespace', podPeer({ namespaceSelector: selector() }), ['kube-system', 'ops', 'prod']],
    ['namespaceSelector matching none', podPeer({ namespaceSelector: selector({ env: 'qa' }) }), []],
  ])('%s', (_, peer, expected) => {
    if (peer.kind !== 'pods') throw new Error('pods peer expected');
    expect(namespacesMatchingPeer(snapshot, p, peer).map((ns) => ns.name).sort()).toEqual(expected);
  });
});

describe('podsAddressedBy', () => {
  const snapshot = snapshotOf({ namespaces, pods });
  it.each([
    ['a /24 holding two pods', ipBlock('10.0.0.0/24'), ['prod/db', 'prod/web']],
    ['except carves one out', ipBlock('10.0.0.0/24', ['10.0.0.16/28']), ['prod/web']],
    ['IPv6 block matches the pod by its v6 address', ipBlock('fd00::/64'), ['prod/web']],
    ['hostNetwork pods are addressed by their node IP', ipBlock('192.168.0.0/16'), ['kube-system/agent']],
    ['an external block holds no pod', ipBlock('52.32.0.0/16'), []],
  ])('%s', (_, block, expected) => {
    expect(keys(podsAddressedBy(snapshot, block))).toEqual(expected);
  });
});

describe('namedPortDestinations', () => {
  const ingressPolicy = policy('prod/in', { podSelector: selector({ app: 'db' }), ingress: [rule([podPeer({ podSelector: selector() })])] });
  const egressPolicy = policy('prod/out', {
    podSelector: selector({ app: 'web' }),
    egress: [
      rule([podPeer({ podSelector: selector({ app: 'db' }) })]),
      rule([podPeer({ namespaceSelector: selector({ env: 'ops' }) }), ipBlockPeer('192.168.1.0/24')]),
      rule([ipBlockPeer('52.32.0.0/16')]),
      rule(),
    ],
  });
  const snapshot = snapshotOf({ namespaces, pods, policies: [ingressPolicy, egressPolicy] });
  it.each([
    ['ingress: the pods the policy selects', ingressPolicy, 'ingress', 0, ['prod/db']],
    ['egress: the pods of the peers', egressPolicy, 'egress', 0, ['prod/db']],
    ['egress: namespace peer and ipBlock over a node', egressPolicy, 'egress', 1, ['kube-system/agent', 'ops/mon']],
    ['egress: an external ipBlock only', egressPolicy, 'egress', 2, []],
    ['egress: empty `to` reaches every pod', egressPolicy, 'egress', 3, ['kube-system/agent', 'ops/mon', 'prod/db', 'prod/web']],
  ] as const)('%s', (_, p, direction, index, expected) => {
    expect(keys(namedPortDestinations(snapshot, p, direction, index))).toEqual(expected);
  });

  it('names the policy when the rule does not exist', () => {
    expect(() => namedPortDestinations(snapshot, egressPolicy, 'egress', 9)).toThrow('prod/out has no egress rule 9');
  });
});
