// One table per rule of the networking.k8s.io/v1 NetworkPolicy API reference, checked through connectionVerdict.
import { describe, expect, it } from 'vitest';
import type { NetworkPolicy, Pod, Protocol } from '../../src/model/types.js';
import {
  type ConnectionVerdict,
  type Endpoint,
  connectionVerdict,
  exceptHolding,
  ipBlockContains,
  selectorMatches,
} from '../../src/policy/index.js';
import {
  anyPort,
  at,
  connection,
  containerPort,
  everything,
  expression,
  external,
  ipBlock,
  ipBlockPeer,
  namespace,
  pod,
  podPeer,
  policy,
  port,
  rule,
  selector,
  snapshotOf,
} from '../support/builders.js';

// The world every table below runs in. Named ports differ per pod on purpose: `http` is 8080 on prod/web,
// 8000 on prod/api, undeclared on prod/db; `dns` is UDP on prod/api only.
const namespaces = [namespace('prod', { team: 'a', env: 'prod' }), namespace('dev', { team: 'b' }), namespace('ops')];
const web = pod('prod/web', {
  labels: { app: 'web', tier: 'front' },
  ips: ['10.0.0.10', 'fd00::10'],
  ports: [containerPort(8080, 'http'), containerPort(9090, 'metrics')],
  nodeName: 'n1',
});
const api = pod('prod/api', {
  labels: { app: 'api', tier: 'back' },
  ips: ['10.0.0.30'],
  ports: [containerPort(8000, 'http'), containerPort(53, 'dns', 'UDP'), containerPort(7000, 'sig', 'SCTP')],
  nodeName: 'n2',
});
const db = pod('prod/db', { labels: { app: 'db', tier: 'back' }, ips: ['10.0.0.20'], ports: [containerPort(5432)], nodeName: 'n1' });
const devWeb = pod('dev/web', { labels: { app: 'web' }, ips: ['10.0.1.10'], nodeName: 'n2' });
const devTool = pod('dev/tool', { labels: { app: 'tool', debug: 'true' }, ips: ['10.0.1.20'], nodeName: 'n1' });
const mon = pod('ops/mon', { labels: { app: 'mon' }, ips: ['10.0.2.10'], nodeName: 'n2' });
const agentN1 = pod('kube-system/agent-n1', {
  labels: { app: 'agent' },
  ips: ['192.168.1.1'],
  hostNetwork: true,
  nodeName: 'n1',
  ports: [containerPort(10250, 'kubelet')],
});
const agentN2 = pod('kube-system/agent-n2', {
  labels: { app: 'agent' },
  ips: ['192.168.1.2'],
  hostNetwork: true,
  nodeName: 'n2',
  ports: [containerPort(10250, 'kubelet')],
});
const pods: readonly Pod[] = [web, api, db, devWeb, devTool, mon, agentN1, agentN2];
const internet = external('203.0.113.7');
const internet6 = external('2001:db8::7');

function verdictOf(policies: readonly NetworkPolicy[], from: Endpoint, to: Endpoint, p: number, protocol: Protocol = 'TCP'): ConnectionVerdict {
  return connectionVerdict(snapshotOf({ namespaces, pods, policies }), connection(from, to, p, protocol));
}

interface Case {
  readonly name: string;
  readonly policies: readonly NetworkPolicy[];
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol?: Protocol;
  readonly allowed: boolean;
}

function runTable(cases: readonly Case[]): void {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    expect(verdictOf(c.policies, c.from, c.to, c.port, c.protocol).allowed).toBe(c.allowed);
  });
}

const webSelector = () => selector({ app: 'web' });
const denyIngressToWeb = policy('prod/deny-web-in', { podSelector: webSelector() });
const denyEgressFromWeb = policy('prod/deny-web-out', { podSelector: webSelector(), policyTypes: ['egress'] });

describe('policyTypes decide which directions a policy isolates', () => {
  it('no policy: both directions not isolated', () => {
    const v = verdictOf([], at(api), at(web), 8080);
    expect(v).toEqual({
      allowed: true,
      egress: { allowed: true, reason: 'not-isolated' },
      ingress: { allowed: true, reason: 'not-isolated' },
    });
  });

  it('policyTypes [Ingress] without rules isolates ingress only', () => {
    const toWeb = verdictOf([denyIngressToWeb], at(api), at(web), 8080);
    expect(toWeb.allowed).toBe(false);
    expect(toWeb.ingress).toEqual({ allowed: false, reason: 'isolated', isolatedBy: ['prod/deny-web-in'] });
    const fromWeb = verdictOf([denyIngressToWeb], at(web), at(api), 8000);
    expect(fromWeb.allowed).toBe(true);
    expect(fromWeb.egress.reason).toBe('not-isolated');
  });

  it('policyTypes [Egress] isolates egress only and ignores ingress rules it carries', () => {
    const egressOnly = policy('prod/egress-only', {
      podSelector: webSelector(),
      policyTypes: ['egress'],
      ingress: [rule([ipBlockPeer('0.0.0.0/0')])],
    });
    const fromWeb = verdictOf([egressOnly], at(web), at(api), 8000);
    expect(fromWeb.egress).toEqual({ allowed: false, reason: 'isolated', isolatedBy: ['prod/egress-only'] });
    const toWeb = verdictOf([egressOnly], at(api), at(web), 8080);
    expect(toWeb.ingress).toEqual({ allowed: true, reason: 'not-isolated' });
  });

  it('policyTypes [Ingress] ignores egress rules: egress stays not isolated', () => {
    const ingressOnly = policy('prod/in-only', {
      podSelector: webSelector(),
      policyTypes: ['ingress'],
      egress: [rule([ipBlockPeer('10.0.0.30/32')])],
    });
    expect(verdictOf([ingressOnly], at(web), at(db), 5432).egress).toEqual({ allowed: true, reason: 'not-isolated' });
  });

  it('policyTypes [Ingress, Egress] without rules isolates both', () => {
    const both = policy('prod/deny-all', { podSelector: webSelector(), policyTypes: ['ingress', 'egress'] });
    expect(verdictOf([both], at(web), at(api), 8000).egress.allowed).toBe(false);
    expect(verdictOf([both], at(api), at(web), 8080).ingress.allowed).toBe(false);
  });

  runTable([
    { name: 'a policy selects only pods of its own namespace', policies: [policy('dev/deny', { podSelector: webSelector() })], from: at(api), to: at(web), port: 8080, allowed: true },
    { name: 'the same policy isolates the pod of its namespace', policies: [policy('dev/deny', { podSelector: webSelector() })], from: at(api), to: at(devWeb), port: 80, allowed: false },
    { name: 'a podSelector that does not match leaves the pod open', policies: [policy('prod/deny-db', { podSelector: selector({ app: 'db' }) })], from: at(api), to: at(web), port: 8080, allowed: true },
    { name: 'podSelector {} selects every pod of the namespace', policies: [policy('prod/deny', { podSelector: everything() })], from: at(mon), to: at(db), port: 5432, allowed: false },
    { name: 'ingress isolation of the destination does not touch the source egress', policies: [denyIngressToWeb], from: at(web), to: at(mon), port: 80, allowed: true },
  ]);
});

describe('policies are additive: the union of what every isolating policy allows', () => {
  const allowFromApi = policy('prod/allow-api', { podSelector: webSelector(), ingress: [rule([podPeer({ podSelector: selector({ app: 'api' }) })])] });
  const allowFromDb = policy('prod/allow-db', { podSelector: webSelector(), ingress: [rule([podPeer({ podSelector: selector({ app: 'db' }) })])] });
  runTable([
    { name: 'deny-all plus allow-from-api admits api', policies: [denyIngressToWeb, allowFromApi], from: at(api), to: at(web), port: 8080, allowed: true },
    { name: 'deny-all plus allow-from-api still denies db', policies: [denyIngressToWeb, allowFromApi], from: at(db), to: at(web), port: 8080, allowed: false },
    { name: 'two allow policies: the first admits api', policies: [allowFromApi, allowFromDb], from: at(api), to: at(web), port: 8080, allowed: true },
    { name: 'two allow policies: the second admits db', policies: [allowFromApi, allowFromDb], from: at(db), to: at(web), port: 8080, allowed: true },
    { name: 'two allow policies: neither admits mon', policies: [allowFromApi, allowFromDb], from: at(mon), to: at(web), port: 8080, allowed: false },
  ]);

  it('every admitting rule of every policy is listed, and every isolating policy is named', () => {
    const fromAnywhere = policy('prod/allow-any', { podSelector: webSelector(), ingress: [rule()] });
    const v = verdictOf([denyIngressToWeb, allowFromApi, fromAnywhere], at(api), at(web), 8080);
    expect(v.ingress).toEqual({
      allowed: true,
      reason: 'rule',
      isolatedBy: ['prod/deny-web-in', 'prod/allow-api', 'prod/allow-any'],
      rules: [
        { policy: 'prod/allow-api', direction: 'ingress', rule: 0, peer: 0, port: null },
        { policy: 'prod/allow-any', direction: 'ingress', rule: 0, peer: null, port: null },
      ],
    });
  });
});

describe('a connection needs egress allowed at the source AND ingress allowed at the destination', () => {
  const webEgressToApi = policy('prod/web-out', {
    podSelector: webSelector(),
    policyTypes: ['egress'],
    egress: [rule([podPeer({ podSelector: selector({ app: 'api' }) })])],
  });
  const apiIngressFromDb = policy('prod/api-in', {
    podSelector: selector({ app: 'api' }),
    ingress: [rule([podPeer({ podSelector: selector({ app: 'db' }) })])],
  });
  const apiIngressFromWeb = policy('prod/api-in-web', {
    podSelector: selector({ app: 'api' }),
    ingress: [rule([podPeer({ podSelector: webSelector() })])],
  });
  const cases: readonly [string, readonly NetworkPolicy[], boolean, boolean][] = [
    ['egress allowed, ingress open', [webEgressToApi], true, true],
    ['egress allowed, ingress allowed', [webEgressToApi, apiIngressFromWeb], true, true],
    ['egress allowed, ingress denied', [webEgressToApi, apiIngressFromDb], true, false],
    ['egress denied, ingress allowed', [denyEgressFromWeb, apiIngressFromWeb], false, true],
    ['egress denied, ingress denied', [denyEgressFromWeb, apiIngressFromDb], false, false],
  ];
  it.each(cases)('%s', (_, policies, egress, ingress) => {
    const v = verdictOf(policies, at(web), at(api), 8000);
    expect([v.egress.allowed, v.ingress.allowed, v.allowed]).toEqual([egress, ingress, egress && ingress]);
  });
});

describe('empty versus absent from/to/ports', () => {
  const webIngress = (...rules: ReturnType<typeof rule>[]) => policy('prod/web', { podSelector: webSelector(), ingress: rules });
  runTable([
    { name: 'ingress: [{}] admits a pod of another namespace', policies: [webIngress(rule())], from: at(mon), to: at(web), port: 1234, allowed: true },
    { name: 'ingress: [{}] admits an external host', policies: [webIngress(rule())], from: internet, to: at(web), port: 1, allowed: true },
    { name: 'ingress: [{}] admits UDP and SCTP too', policies: [webIngress(rule())], from: at(api), to: at(web), port: 53, protocol: 'SCTP', allowed: true },
    { name: 'no ingress rules admit nothing', policies: [webIngress()], from: at(api), to: at(web), port: 8080, allowed: false },
    { name: 'empty from with ports: every peer on that port', policies: [webIngress(rule([], [port(8080)]))], from: internet, to: at(web), port: 8080, allowed: true },
    { name: 'empty from with ports: other ports denied', policies: [webIngress(rule([], [port(8080)]))], from: internet, to: at(web), port: 8081, allowed: false },
    { name: 'peers with empty ports: every port of that peer', policies: [webIngress(rule([podPeer({ podSelector: selector({ app: 'api' }) })]))], from: at(api), to: at(web), port: 65535, protocol: 'UDP', allowed: true },
    { name: 'egress: [{}] admits every destination', policies: [policy('prod/out', { podSelector: webSelector(), egress: [rule()] })], from: at(web), to: internet6, port: 443, allowed: true },
    { name: 'Egress without egress rules admits no destination', policies: [denyEgressFromWeb], from: at(web), to: internet, port: 443, allowed: false },
  ]);
});

describe('peers', () => {
  const webFrom = (...peers: ReturnType<typeof podPeer>[]) => policy('prod/web', { podSelector: webSelector(), ingress: [rule(peers)] });
  const devNs = () => selector({ team: 'b' });
  const tool = () => selector({ app: 'tool' });
  runTable([
    { name: 'peers are ORed: the second peer admits', policies: [webFrom(podPeer({ podSelector: selector({ app: 'db' }) }), podPeer({ namespaceSelector: devNs() }))], from: at(devWeb), to: at(web), port: 8080, allowed: true },
    { name: 'peers are ORed: the first peer admits', policies: [webFrom(podPeer({ podSelector: selector({ app: 'db' }) }), podPeer({ namespaceSelector: devNs() }))], from: at(db), to: at(web), port: 8080, allowed: true },
    { name: 'peers are ORed: neither admits', policies: [webFrom(podPeer({ podSelector: selector({ app: 'db' }) }), podPeer({ namespaceSelector: devNs() }))], from: at(mon), to: at(web), port: 8080, allowed: false },
    { name: 'namespaceSelector and podSelector in one peer are ANDed: both match', policies: [webFrom(podPeer({ namespaceSelector: devNs(), podSelector: tool() }))], from: at(devTool), to: at(web), port: 8080, allowed: true },
    { name: 'ANDed peer: namespace matches, pod does not', policies: [webFrom(podPeer({ namespaceSelector: devNs(), podSelector: tool() }))], from: at(devWeb), to: at(web), port: 8080, allowed: false },
    { name: 'ANDed peer: pod labels match, namespace does not', policies: [webFrom(podPeer({ namespaceSelector: devNs(), podSelector: webSelector() }))], from: at(web), to: at(api), port: 8000, allowed: true },
    { name: 'ANDed peer: pod labels match in a namespace the selector rejects', policies: [policy('prod/api', { podSelector: selector({ app: 'api' }), ingress: [rule([podPeer({ namespaceSelector: devNs(), podSelector: webSelector() })])] })], from: at(web), to: at(api), port: 8000, allowed: false },
    { name: 'podSelector alone means the policy namespace: same namespace admitted', policies: [webFrom(podPeer({ podSelector: selector({ tier: 'back' }) }))], from: at(db), to: at(web), port: 8080, allowed: true },
    { name: 'podSelector alone: matching labels in another namespace denied', policies: [webFrom(podPeer({ podSelector: selector({ app: 'tool' }) }))], from: at(devTool), to: at(web), port: 8080, allowed: false },
    { name: 'podSelector {} alone: every pod of the policy namespace', policies: [webFrom(podPeer({ podSelector: everything() }))], from: at(api), to: at(web), port: 8080, allowed: true },
    { name: 'podSelector {} alone: no pod of another namespace', policies: [webFrom(podPeer({ podSelector: everything() }))], from: at(mon), to: at(web), port: 8080, allowed: false },
    { name: 'namespaceSelector {} means every namespace', policies: [webFrom(podPeer({ namespaceSelector: everything() }))], from: at(mon), to: at(web), port: 8080, allowed: true },
    { name: 'namespaceSelector alone: every pod of the selected namespaces', policies: [webFrom(podPeer({ namespaceSelector: selector({ 'kubernetes.io/metadata.name': 'ops' }) }))], from: at(mon), to: at(web), port: 8080, allowed: true },
    { name: 'namespaceSelector by the automatic name label rejects other namespaces', policies: [webFrom(podPeer({ namespaceSelector: selector({ 'kubernetes.io/metadata.name': 'ops' }) }))], from: at(devWeb), to: at(web), port: 8080, allowed: false },
    { name: 'pod peers never match external hosts', policies: [webFrom(podPeer({ namespaceSelector: everything(), podSelector: everything() }))], from: internet, to: at(web), port: 8080, allowed: false },
  ]);
});

describe('label selectors: matchLabels and matchExpressions all hold', () => {
  const labels = { app: 'web', tier: 'front' };
  const cases: readonly [string, ReturnType<typeof selector>, boolean][] = [
    ['{} matches everything', everything(), true],
    ['matchLabels: one pair', selector({ app: 'web' }), true],
    ['matchLabels: every pair must hold', selector({ app: 'web', tier: 'back' }), false],
    ['matchLabels: a missing key fails', selector({ env: 'prod' }), false],
    ['In: value listed', selector({}, [expression('tier', 'In', ['front', 'back'])]), true],
    ['In: value not listed', selector({}, [expression('tier', 'In', ['back'])]), false],
    ['In: missing key fails', selector({}, [expression('env', 'In', ['prod'])]), false],
    ['NotIn: value listed fails', selector({}, [expression('tier', 'NotIn', ['front'])]), false],
    ['NotIn: value not listed', selector({}, [expression('tier', 'NotIn', ['back'])]), true],
    ['NotIn: a missing key satisfies it', selector({}, [expression('env', 'NotIn', ['prod'])]), true],
    ['Exists: present', selector({}, [expression('app', 'Exists')]), true],
    ['Exists: absent', selector({}, [expression('env', 'Exists')]), false],
    ['DoesNotExist: absent', selector({}, [expression('env', 'DoesNotExist')]), true],
    ['DoesNotExist: present', selector({}, [expression('app', 'DoesNotExist')]), false],
    ['matchLabels AND matchExpressions: both hold', selector({ app: 'web' }, [expression('tier', 'In', ['front'])]), true],
    ['matchLabels AND matchExpressions: expression fails', selector({ app: 'web' }, [expression('tier', 'DoesNotExist')]), false],
    ['matchLabels AND matchExpressions: labels fail', selector({ app: 'db' }, [expression('tier', 'Exists')]), false],
    ['every expression must hold', selector({}, [expression('app', 'Exists'), expression('tier', 'NotIn', ['front'])]), false],
    ['a key inherited from Object.prototype is not a label', selector({}, [expression('constructor', 'Exists')]), false],
  ];
  it.each(cases)('%s', (_, sel, expected) => {
    expect(selectorMatches(sel, labels)).toBe(expected);
  });

  runTable([
    { name: 'a policy podSelector with NotIn selects pods without the key', policies: [policy('prod/p', { podSelector: selector({}, [expression('debug', 'NotIn', ['true'])]) })], from: at(mon), to: at(web), port: 8080, allowed: false },
    { name: 'a namespaceSelector with DoesNotExist admits the unlabelled namespace', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([podPeer({ namespaceSelector: selector({}, [expression('team', 'DoesNotExist')]) })])] })], from: at(mon), to: at(web), port: 8080, allowed: true },
    { name: 'a namespaceSelector with DoesNotExist rejects a labelled namespace', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([podPeer({ namespaceSelector: selector({}, [expression('team', 'DoesNotExist')]) })])] })], from: at(devWeb), to: at(web), port: 8080, allowed: false },
    { name: 'a podSelector with Exists across namespaces', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([podPeer({ namespaceSelector: everything(), podSelector: selector({}, [expression('debug', 'Exists')]) })])] })], from: at(devTool), to: at(web), port: 8080, allowed: true },
  ]);
});

describe('ipBlock: inside cidr and outside every except', () => {
  const cases: readonly [string, ReturnType<typeof ipBlock>, string, boolean][] = [
    ['IPv4 inside', ipBlock('10.0.0.0/16'), '10.0.200.1', true],
    ['IPv4 outside', ipBlock('10.0.0.0/16'), '10.1.0.1', false],
    ['IPv4 network address is inside', ipBlock('10.0.0.0/24'), '10.0.0.0', true],
    ['IPv4 broadcast address is inside', ipBlock('10.0.0.0/24'), '10.0.0.255', true],
    ['IPv4 in an except', ipBlock('10.0.0.0/16', ['10.0.1.0/24']), '10.0.1.9', false],
    ['IPv4 beside the except', ipBlock('10.0.0.0/16', ['10.0.1.0/24']), '10.0.2.9', true],
    ['IPv4 in the second except', ipBlock('10.0.0.0/16', ['10.0.1.0/24', '10.0.3.0/24']), '10.0.3.1', false],
    ['IPv4 /32', ipBlock('10.0.0.10/32'), '10.0.0.10', true],
    ['IPv4 /32 neighbour', ipBlock('10.0.0.10/32'), '10.0.0.11', false],
    ['0.0.0.0/0 holds every IPv4', ipBlock('0.0.0.0/0'), '203.0.113.7', true],
    ['cidr with host bits set keeps its prefix', ipBlock('10.0.0.77/24'), '10.0.0.1', true],
    ['IPv6 inside', ipBlock('fd00::/64'), 'fd00::10', true],
    ['IPv6 outside', ipBlock('fd00::/64'), 'fd00:0:0:1::10', false],
    ['IPv6 in an except', ipBlock('fd00::/64', ['fd00::/120']), 'fd00::10', false],
    ['IPv6 beside the except', ipBlock('fd00::/64', ['fd00::/120']), 'fd00::1:10', true],
    ['IPv6 spelled differently', ipBlock('fd00:0000::/64'), 'FD00:0:0:0::0010', true],
    ['an IPv4 block never holds an IPv6 address', ipBlock('0.0.0.0/0'), 'fd00::10', false],
    ['an IPv6 block never holds an IPv4 address', ipBlock('::/0'), '10.0.0.10', false],
    ['IPv4-mapped IPv6 address against an IPv4 block', ipBlock('10.0.0.0/24'), '::ffff:10.0.0.10', true],
    ['IPv4-mapped IPv6 address in an IPv4 except', ipBlock('10.0.0.0/16', ['10.0.0.0/24']), '::ffff:10.0.0.10', false],
    ['IPv4-mapped IPv6 block against an IPv4 address', ipBlock('::ffff:10.0.0.0/120'), '10.0.0.10', true],
    ['IPv4-mapped IPv6 block: outside its /24', ipBlock('::ffff:10.0.0.0/120'), '10.0.1.10', false],
    ['IPv4-mapped IPv6 except against an IPv4 address', ipBlock('10.0.0.0/16', ['::ffff:10.0.0.0/120']), '10.0.0.10', false],
  ];
  it.each(cases)('%s', (_, block, ip, expected) => {
    expect(ipBlockContains(block, ip)).toBe(expected);
  });

  it('names the first except holding an address, inside the cidr or not', () => {
    const block = ipBlock('10.0.0.0/16', ['10.0.1.0/24', '10.0.0.0/8', '::ffff:10.0.3.0/120']);
    expect(['10.0.1.9', '10.0.2.9', '10.9.0.1', '::ffff:10.0.3.4', '10.0.3.4', '192.0.2.1'].map((ip) => exceptHolding(block, ip))).toEqual([
      '10.0.1.0/24',
      '10.0.0.0/8',
      '10.0.0.0/8',
      '10.0.0.0/8',
      '10.0.0.0/8',
      undefined,
    ]);
    expect(exceptHolding(ipBlock('fd00::/64', ['fd00::/120']), 'fd00::1:10')).toBeUndefined();
  });

  runTable([
    { name: 'ingress ipBlock admits a pod by its IP', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([ipBlockPeer('10.0.2.0/24')])] })], from: at(mon), to: at(web), port: 8080, allowed: true },
    { name: 'ingress ipBlock except carves the pod out', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([ipBlockPeer('10.0.0.0/16', ['10.0.2.10/32'])])] })], from: at(mon), to: at(web), port: 8080, allowed: false },
    { name: 'ingress ipBlock admits an external host', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([ipBlockPeer('203.0.113.0/24')])] })], from: internet, to: at(web), port: 8080, allowed: true },
    { name: 'egress IPv6 ipBlock to a dual-stack pod at its IPv6 address', policies: [policy('prod/p', { podSelector: selector({ app: 'api' }), egress: [rule([ipBlockPeer('fd00::/64')])] })], from: at(api), to: at(web, 'fd00::10'), port: 8080, allowed: true },
    { name: 'egress IPv6 ipBlock does not admit the same pod at its IPv4 address', policies: [policy('prod/p', { podSelector: selector({ app: 'api' }), egress: [rule([ipBlockPeer('fd00::/64')])] })], from: at(api), to: at(web), port: 8080, allowed: false },
    { name: 'egress IPv6 ipBlock except', policies: [policy('prod/p', { podSelector: webSelector(), egress: [rule([ipBlockPeer('2001:db8::/32', ['2001:db8::/120'])])] })], from: at(web, 'fd00::10'), to: internet6, port: 443, allowed: false },
  ]);
});

describe('ports: numbers, ranges, protocols and named ports resolved at the destination', () => {
  const webIn = (...ports: ReturnType<typeof port>[]) => policy('prod/web-in', { podSelector: webSelector(), ingress: [rule([], ports)] });
  const webOut = (...ports: ReturnType<typeof port>[]) => policy('prod/web-out', { podSelector: webSelector(), egress: [rule([], ports)] });
  runTable([
    { name: 'numeric port: that port', policies: [webIn(port(8080))], from: at(api), to: at(web), port: 8080, allowed: true },
    { name: 'numeric port: another port', policies: [webIn(port(8080))], from: at(api), to: at(web), port: 9090, allowed: false },
    { name: 'numeric TCP port does not admit UDP', policies: [webIn(port(8080))], from: at(api), to: at(web), port: 8080, protocol: 'UDP', allowed: false },
    { name: 'UDP port admits UDP', policies: [webIn(port(53, 'UDP'))], from: at(api), to: at(web), port: 53, protocol: 'UDP', allowed: true },
    { name: 'SCTP port admits SCTP', policies: [webIn(port(7000, 'SCTP'))], from: at(api), to: at(web), port: 7000, protocol: 'SCTP', allowed: true },
    { name: 'SCTP port does not admit TCP', policies: [webIn(port(7000, 'SCTP'))], from: at(api), to: at(web), port: 7000, allowed: false },
    { name: 'protocol without port: every port of it', policies: [webIn(anyPort('UDP'))], from: at(api), to: at(web), port: 40000, protocol: 'UDP', allowed: true },
    { name: 'protocol without port: not other protocols', policies: [webIn(anyPort('UDP'))], from: at(api), to: at(web), port: 40000, allowed: false },
    { name: 'endPort: first port of the range', policies: [webIn(port(8000, 'TCP', 8100))], from: at(api), to: at(web), port: 8000, allowed: true },
    { name: 'endPort: last port of the range', policies: [webIn(port(8000, 'TCP', 8100))], from: at(api), to: at(web), port: 8100, allowed: true },
    { name: 'endPort: just past the range', policies: [webIn(port(8000, 'TCP', 8100))], from: at(api), to: at(web), port: 8101, allowed: false },
    { name: 'endPort: just before the range', policies: [webIn(port(8000, 'TCP', 8100))], from: at(api), to: at(web), port: 7999, allowed: false },
    { name: 'endPort range keeps its protocol', policies: [webIn(port(8000, 'UDP', 8100))], from: at(api), to: at(web), port: 8050, allowed: false },
    { name: 'several ports entries are ORed', policies: [webIn(port(1), port(9090))], from: at(api), to: at(web), port: 9090, allowed: true },
    { name: 'ingress named port resolves on the destination: http is 8080 on web', policies: [webIn(port('http'))], from: at(api), to: at(web), port: 8080, allowed: true },
    { name: 'ingress named port: the number it has on another pod does not count', policies: [webIn(port('http'))], from: at(api), to: at(web), port: 8000, allowed: false },
    { name: 'egress named port: http is 8000 on api', policies: [webOut(port('http'))], from: at(web), to: at(api), port: 8000, allowed: true },
    { name: 'egress named port: 8080 is not http on api', policies: [webOut(port('http'))], from: at(web), to: at(api), port: 8080, allowed: false },
    { name: 'egress named port: a destination that does not declare it', policies: [webOut(port('http'))], from: at(web), to: at(db), port: 5432, allowed: false },
    { name: 'egress named port never resolves for an external destination', policies: [webOut(port('http'))], from: at(web), to: internet, port: 8000, allowed: false },
    { name: 'named port: name and protocol must both match (dns is UDP on api)', policies: [webOut(port('dns', 'UDP'))], from: at(web), to: at(api), port: 53, protocol: 'UDP', allowed: true },
    { name: 'named port: same name with TCP does not resolve', policies: [webOut(port('dns'))], from: at(web), to: at(api), port: 53, allowed: false },
    { name: 'named port: SCTP container port', policies: [webOut(port('sig', 'SCTP'))], from: at(web), to: at(api), port: 7000, protocol: 'SCTP', allowed: true },
    { name: 'named port on a hostNetwork destination resolves against its declared ports', policies: [webOut(port('kubelet'))], from: at(web), to: at(agentN2), port: 10250, allowed: true },
    { name: 'named port on a hostNetwork destination: other ports denied', policies: [webOut(port('kubelet'))], from: at(web), to: at(agentN2), port: 10251, allowed: false },
  ]);

  it('the ports entry that admitted is reported by index, per destination', () => {
    const p = policy('prod/out', { podSelector: webSelector(), egress: [rule([], [port(1), port('http')])] });
    const toApi = verdictOf([p], at(web), at(api), 8000).egress;
    expect(toApi).toMatchObject({ reason: 'rule', rules: [{ policy: 'prod/out', rule: 0, peer: null, port: 1 }] });
  });
});

describe('hostNetwork pods, external hosts, loopback and the own node', () => {
  const denyAllProd = policy('prod/deny-all', { podSelector: everything(), policyTypes: ['ingress', 'egress'] });
  const denyAllSystem = policy('kube-system/deny-all', { podSelector: everything(), policyTypes: ['ingress', 'egress'] });
  runTable([
    { name: 'a hostNetwork pod is never selected (ingress)', policies: [denyAllSystem], from: at(web), to: at(agentN2), port: 10250, allowed: true },
    { name: 'a hostNetwork pod is never selected (egress)', policies: [denyAllSystem], from: at(agentN2), to: at(web), port: 8080, allowed: true },
    { name: 'hostNetwork peer: not matched by namespaceSelector {} + podSelector {}', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([podPeer({ namespaceSelector: everything(), podSelector: everything() })])] })], from: at(agentN2), to: at(web), port: 8080, allowed: false },
    { name: 'hostNetwork peer: not matched by a podSelector naming its labels', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([podPeer({ namespaceSelector: everything(), podSelector: selector({ app: 'agent' }) })])] })], from: at(agentN2), to: at(web), port: 8080, allowed: false },
    { name: 'hostNetwork peer: matched by an ipBlock of its node address', policies: [policy('prod/p', { podSelector: webSelector(), ingress: [rule([ipBlockPeer('192.168.1.0/24')])] })], from: at(agentN2), to: at(web), port: 8080, allowed: true },
    { name: 'external source into an ingress-isolated pod', policies: [denyAllProd], from: internet, to: at(web), port: 8080, allowed: false },
    { name: 'external source into an open pod', policies: [], from: internet, to: at(web), port: 8080, allowed: true },
    { name: 'external destination from an egress-isolated pod', policies: [denyAllProd], from: at(web), to: internet, port: 443, allowed: false },
    { name: 'loopback survives a deny-all in both directions', policies: [denyAllProd], from: at(web), to: at(web), port: 8080, allowed: true },
    { name: 'loopback at the other IP of a dual-stack pod', policies: [denyAllProd], from: at(web, 'fd00::10'), to: at(web, 'fd00::10'), port: 8080, allowed: true },
    { name: "traffic from the pod's own node is allowed", policies: [denyAllProd], from: at(agentN1), to: at(web), port: 8080, allowed: true },
    { name: 'traffic from another node is not', policies: [denyAllProd], from: at(agentN2), to: at(web), port: 8080, allowed: false },
    { name: "traffic to the pod's own node is allowed", policies: [denyAllProd], from: at(web), to: at(agentN1), port: 10250, allowed: true },
    { name: 'traffic to another node is not', policies: [denyAllProd], from: at(web), to: at(agentN2), port: 10250, allowed: false },
    { name: 'an ordinary pod on the same node is not the node', policies: [denyAllProd], from: at(devTool), to: at(web), port: 8080, allowed: false },
  ]);

  it('reasons: not-a-pod names the kind of endpoint', () => {
    const v = verdictOf([denyAllSystem], internet, at(agentN1), 22);
    expect(v.egress).toEqual({ allowed: true, reason: 'not-a-pod', endpoint: 'external' });
    expect(v.ingress).toEqual({ allowed: true, reason: 'not-a-pod', endpoint: 'host-network' });
  });

  it('reasons: loopback in both directions', () => {
    const v = verdictOf([denyAllProd], at(web), at(web), 8080);
    expect([v.egress, v.ingress]).toEqual([
      { allowed: true, reason: 'loopback' },
      { allowed: true, reason: 'loopback' },
    ]);
  });

  it('reasons: node-local for the pod side of own-node traffic, both ways', () => {
    expect(verdictOf([denyAllProd], at(agentN1), at(web), 8080).ingress).toEqual({ allowed: true, reason: 'node-local' });
    expect(verdictOf([denyAllProd], at(web), at(agentN1), 10250).egress).toEqual({ allowed: true, reason: 'node-local' });
  });

  it('a pod without a node is never node-local', () => {
    const unscheduled = pod('prod/unscheduled', { labels: { app: 'web' }, ips: ['10.0.0.99'] });
    const snap = snapshotOf({ namespaces, pods: [...pods, unscheduled], policies: [denyAllProd] });
    const hostWithoutNode = pod('kube-system/floating', { ips: ['192.168.1.9'], hostNetwork: true });
    expect(connectionVerdict(snap, connection(at(hostWithoutNode), at(unscheduled), 80)).allowed).toBe(false);
  });
});

describe('verdict reasons carry policy, rule, peer and port indexes', () => {
  it('indexes point at the rule, peer and port that admitted', () => {
    const p = policy('prod/web-in', {
      podSelector: webSelector(),
      ingress: [
        rule([podPeer({ podSelector: selector({ app: 'db' }) })], [port(8080)]),
        rule([podPeer({ podSelector: selector({ app: 'db' }) }), ipBlockPeer('10.0.2.0/24')], [port(1), port(8000, 'TCP', 8100)]),
      ],
    });
    const v = verdictOf([p], at(mon), at(web), 8080);
    expect(v.ingress).toEqual({
      allowed: true,
      reason: 'rule',
      isolatedBy: ['prod/web-in'],
      rules: [{ policy: 'prod/web-in', direction: 'ingress', rule: 1, peer: 1, port: 1 }],
    });
  });

  it('egress refs name the egress direction and the to-peer index', () => {
    const p = policy('prod/web-out', {
      podSelector: webSelector(),
      egress: [rule([ipBlockPeer('10.9.0.0/16'), podPeer({ namespaceSelector: selector({ team: 'b' }) })], [port(80)])],
    });
    expect(verdictOf([p], at(web), at(devTool), 80).egress).toEqual({
      allowed: true,
      reason: 'rule',
      isolatedBy: ['prod/web-out'],
      rules: [{ policy: 'prod/web-out', direction: 'egress', rule: 0, peer: 1, port: 0 }],
    });
  });

  it('a denial lists every isolating policy, in snapshot order', () => {
    const a = policy('prod/a', { podSelector: webSelector(), ingress: [rule([], [port(1)])] });
    const b = policy('prod/b', { podSelector: selector({}, [expression('tier', 'In', ['front'])]) });
    const otherDirection = policy('prod/c', { podSelector: webSelector(), policyTypes: ['egress'] });
    expect(verdictOf([a, otherDirection, b], at(api), at(web), 8080).ingress).toEqual({
      allowed: false,
      reason: 'isolated',
      isolatedBy: ['prod/a', 'prod/b'],
    });
  });
});

describe('invalid policies isolate and allow nothing', () => {
  const invalid = policy('prod/broken', {
    podSelector: webSelector(),
    policyTypes: ['ingress'],
    errors: [{ object: 'NetworkPolicy prod/broken', field: 'spec.ingress[0].ports[0].port', message: 'must be 1-65535' }],
  });
  it('selected pods are isolated in its policyTypes and denied', () => {
    expect(verdictOf([invalid], at(api), at(web), 8080).ingress).toEqual({ allowed: false, reason: 'isolated', isolatedBy: ['prod/broken'] });
  });
  it('directions outside its policyTypes stay open', () => {
    expect(verdictOf([invalid], at(web), at(api), 8000).egress).toEqual({ allowed: true, reason: 'not-isolated' });
  });
  it('rules an invalid policy still carries admit nothing', () => {
    const halfParsed = policy('prod/half', {
      podSelector: webSelector(),
      ingress: [rule()],
      egress: [rule()],
      errors: [{ object: 'NetworkPolicy prod/half', field: 'spec.egress[1].to[0].ipBlock.cidr', message: 'invalid CIDR' }],
    });
    expect(verdictOf([halfParsed], at(api), at(web), 8080).ingress).toEqual({ allowed: false, reason: 'isolated', isolatedBy: ['prod/half'] });
    expect(verdictOf([halfParsed], at(web), at(api), 8000).egress).toEqual({ allowed: false, reason: 'isolated', isolatedBy: ['prod/half'] });
  });
  it('other valid policies still admit through the union', () => {
    const allow = policy('prod/allow', { podSelector: webSelector(), ingress: [rule()] });
    expect(verdictOf([invalid, allow], at(api), at(web), 8080).allowed).toBe(true);
  });
});
