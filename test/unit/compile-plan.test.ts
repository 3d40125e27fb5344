// What the compiler puts in a plan: chains only for this node's isolated pods, peers as shared sets, named ports
// per destination, problems reported with object and field, bindings and unbound pods.
import { describe, expect, it } from 'vitest';
import {
  type ChainPlan,
  type CompileResult,
  type PodBinding,
  type SetPlan,
  DENIED_LOG_GROUP,
  DENIED_LOG_LIMIT,
  DENIED_LOG_QUEUE_THRESHOLD,
  type RulePlan,
  UNKNOWN_LOCAL_PODS_COUNTER,
  compilePlan,
  counterNames,
  dropCounterName,
  podChainName,
} from '../../src/compile/index.js';
import type { NetworkPolicy, Pod } from '../../src/model/types.js';
import {
  containerPort,
  everything,
  expression,
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

const NODE = 'node-a';

/** The end of every pod chain: the rate-limited log of a denied packet, then the pod's counter and drop. */
const deniedTail = (counter: string): RulePlan[] => [
  { expr: [{ limit: DENIED_LOG_LIMIT }, { log: { prefix: counter, group: DENIED_LOG_GROUP, 'queue-threshold': DENIED_LOG_QUEUE_THRESHOLD } }] },
  { expr: [{ counter }, { drop: null }] },
];

const web = pod('shop/web', { labels: { app: 'web' }, ips: ['10.0.1.1', 'fd00::1:1'], nodeName: NODE, ports: [containerPort(8080, 'http')] });
const api = pod('shop/api', { labels: { app: 'api' }, ips: ['10.0.1.2'], nodeName: NODE, ports: [containerPort(9000, 'http')] });
const remoteApi = pod('shop/api-2', { labels: { app: 'api' }, ips: ['10.0.2.2', 'fd00::2:2'], nodeName: 'node-b', ports: [containerPort(9001, 'http')] });
const hostAgent = pod('shop/agent', { labels: { app: 'web' }, ips: ['192.168.1.1'], nodeName: NODE, hostNetwork: true });

function compile(pods: readonly Pod[], policies: readonly NetworkPolicy[], bindings: readonly PodBinding[] = []): CompileResult {
  return compilePlan(snapshotOf({ namespaces: [namespace('shop'), namespace('ops', { team: 'ops' })], pods, policies }), { nodeName: NODE, bindings });
}

function inet(result: CompileResult) {
  return result.plan.tables.find((t) => t.family === 'inet')!;
}

function bridge(result: CompileResult) {
  return result.plan.tables.find((t) => t.family === 'bridge')!;
}

function chain(result: CompileResult, name: string): ChainPlan {
  const found = inet(result).chains.find((c) => c.name === name);
  if (!found) throw new Error(`no chain ${name} in ${inet(result).chains.map((c) => c.name).join(', ')}`);
  return found;
}

function set(result: CompileResult, name: string, table = inet(result)): SetPlan {
  const found = table.sets.find((s) => s.name === name);
  if (!found) throw new Error(`no set ${name}`);
  return found;
}

/** The set names a chain's rules reference, in order. */
function referencedSets(c: ChainPlan): string[] {
  return [...JSON.stringify(c.rules).matchAll(/"@([a-z0-9_]+)"/g)].map((m) => m[1]!);
}

const allowWebFromApi = policy('shop/web-from-api', {
  podSelector: selector({ app: 'web' }),
  ingress: [rule([podPeer({ podSelector: selector({ app: 'api' }) })], [port(8080)])],
});

describe('compilePlan: locality and dispatch', () => {
  it('gives chains, counters and map entries only to local pods isolated in that direction', () => {
    const result = compile([web, api, remoteApi, hostAgent], [
      allowWebFromApi,
      policy('shop/api-egress', { podSelector: selector({ app: 'api' }), policyTypes: ['egress'] }),
    ]);
    expect(inet(result).chains.map((c) => c.name)).toEqual(['egress', 'ingress', 'pod_in_shop_web', 'pod_out_shop_api']);
    expect(result.plan.counters).toEqual({
      drop_in_shop_web: { namespace: 'shop', pod: 'web', direction: 'ingress' },
      drop_out_shop_api: { namespace: 'shop', pod: 'api', direction: 'egress' },
    });
    expect(counterNames(result.plan)).toEqual(['drop_in_shop_web', 'drop_out_shop_api']);
    expect(set(result, 'ingress_pods4').elements).toEqual([['10.0.1.1', { jump: { target: 'pod_in_shop_web' } }]]);
    expect(set(result, 'ingress_pods6').elements).toEqual([['fd00::1:1', { jump: { target: 'pod_in_shop_web' } }]]);
    expect(set(result, 'egress_pods4').elements).toEqual([['10.0.1.2', { jump: { target: 'pod_out_shop_api' } }]]);
    expect(set(result, 'egress_pods6').elements).toEqual([]);
  });

  it('ends every pod chain in a rate-limited log of the denied packet (prefix: its counter), its named counter and drop', () => {
    const result = compile([web, api], [allowWebFromApi]);
    const rules = chain(result, 'pod_in_shop_web').rules;
    expect(rules.slice(-2)).toEqual(deniedTail('drop_in_shop_web'));
  });

  it('matches a pod peer through twin IPv4/IPv6 sets that hold remote pods too', () => {
    const result = compile([web, api, remoteApi], [allowWebFromApi]);
    const [v4, v6] = referencedSets(chain(result, 'pod_in_shop_web'));
    expect(set(result, v4!).elements).toEqual(['10.0.1.2', '10.0.2.2']);
    expect(set(result, v6!).elements).toEqual(['fd00::2:2']);
    expect(v4!.replace('peer4_', '')).toBe(v6!.replace('peer6_', ''));
  });

  it('shares one set between rules and policies whose peers select the same pods the same way', () => {
    const same = (name: string, peerSelector = selector({ app: 'api', tier: 'x' })) =>
      policy(`shop/${name}`, { podSelector: selector({ app: 'web' }), ingress: [rule([podPeer({ podSelector: peerSelector })])] });
    const reordered = selector({ tier: 'x', app: 'api' }, [expression('env', 'In', ['b', 'a'])]);
    const result = compile([web, api], [
      same('one'),
      same('two'),
      same('three', reordered),
      same('four', selector({ app: 'api', tier: 'x' }, [expression('env', 'In', ['a', 'b'])])),
    ]);
    const names = new Set(referencedSets(chain(result, 'pod_in_shop_web')));
    expect(names.size).toBe(4);
  });

  it('gives a peer without namespaceSelector its policy namespace, and one with it every matching namespace', () => {
    const opsPod = pod('ops/api', { labels: { app: 'api' }, ips: ['10.0.3.3'], nodeName: 'node-b' });
    const result = compile([web, api, opsPod], [
      allowWebFromApi,
      policy('shop/web-from-ops', {
        podSelector: selector({ app: 'web' }),
        ingress: [rule([podPeer({ namespaceSelector: selector({ team: 'ops' }), podSelector: selector({ app: 'api' }) })])],
      }),
    ]);
    const peers4 = referencedSets(chain(result, 'pod_in_shop_web')).filter((n) => n.startsWith('peer4_'));
    expect(peers4.map((n) => set(result, n).elements)).toEqual([['10.0.1.2'], ['10.0.3.3']]);
  });

  it('is byte-identical whatever the order of its input', () => {
    const pods = [web, api, remoteApi, hostAgent];
    const policies = [allowWebFromApi, policy('shop/deny', { podSelector: everything(), policyTypes: ['ingress', 'egress'] })];
    const a = compile(pods, policies);
    const b = compile([...pods].reverse(), [...policies].reverse());
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});

describe('compilePlan: ports', () => {
  it('resolves named ingress ports against the local pod itself', () => {
    const result = compile([web, api], [
      policy('shop/named', { podSelector: everything(), ingress: [rule([], [port('http')])] }),
    ]);
    expect(JSON.stringify(chain(result, 'pod_in_shop_web').rules[0])).toContain('["tcp",8080]');
    expect(JSON.stringify(chain(result, 'pod_in_shop_api').rules[0])).toContain('["tcp",9000]');
  });

  it('drops a rule whose only ports are named ports the local pod does not declare', () => {
    const result = compile([web], [policy('shop/named', { podSelector: everything(), ingress: [rule([], [port('grpc')])] })]);
    expect(chain(result, 'pod_in_shop_web').rules).toEqual(deniedTail('drop_in_shop_web'));
  });

  it('resolves named egress ports per destination pod into address . protocol . port sets', () => {
    const result = compile([web, api, remoteApi], [
      policy('shop/web-to-api', {
        podSelector: selector({ app: 'web' }),
        policyTypes: ['egress'],
        egress: [rule([podPeer({ podSelector: selector({ app: 'api' }) })], [port('http')])],
      }),
    ]);
    const names = referencedSets(chain(result, 'pod_out_shop_web'));
    expect(names.every((n) => n.startsWith('nport'))).toBe(true);
    expect(set(result, names[0]!).type).toEqual(['ipv4_addr', 'inet_proto', 'inet_service']);
    expect(set(result, names[0]!).elements).toEqual([{ concat: ['10.0.1.2', 'tcp', 9000] }, { concat: ['10.0.2.2', 'tcp', 9001] }]);
    expect(set(result, names[1]!).elements).toEqual([{ concat: ['fd00::2:2', 'tcp', 9001] }]);
  });

  it('resolves named egress ports towards any destination against every pod that declares them', () => {
    const result = compile([web, api, remoteApi], [
      policy('shop/to-any-http', { podSelector: selector({ app: 'api' }), policyTypes: ['egress'], egress: [rule([], [port('http')])] }),
    ]);
    const [v4] = referencedSets(chain(result, 'pod_out_shop_api'));
    expect(set(result, v4!).elements).toEqual([
      { concat: ['10.0.1.1', 'tcp', 8080] },
      { concat: ['10.0.1.2', 'tcp', 9000] },
      { concat: ['10.0.2.2', 'tcp', 9001] },
    ]);
  });

  it('keeps only pods inside the ipBlock for named egress ports towards it', () => {
    const result = compile([web, api, remoteApi], [
      policy('shop/to-block', {
        podSelector: selector({ app: 'web' }),
        policyTypes: ['egress'],
        egress: [rule([ipBlockPeer('10.0.0.0/16', ['10.0.1.0/24'])], [port('http')])],
      }),
    ]);
    const names = referencedSets(chain(result, 'pod_out_shop_web'));
    expect(names).toHaveLength(1);
    expect(set(result, names[0]!).elements).toEqual([{ concat: ['10.0.2.2', 'tcp', 9001] }]);
  });

  it('merges overlapping and touching ranges, and lets a whole protocol absorb its ranges', () => {
    const result = compile([web], [
      policy('shop/ranges', {
        podSelector: everything(),
        ingress: [rule([], [port(80, 'TCP', 90), port(85), port(91, 'TCP', 95), port(53, 'UDP'), { protocol: 'UDP' }])],
      }),
    ]);
    const [whole, ranges] = chain(result, 'pod_in_shop_web').rules;
    expect(whole!.expr[0]).toEqual({ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'udp' } });
    expect(JSON.stringify(ranges!.expr[0])).toContain('{"set":[{"concat":["tcp",{"range":[80,95]}]}]}');
  });
});

describe('compilePlan: ipBlock', () => {
  it('puts cidr minus except into an interval set of its family', () => {
    const result = compile([web], [
      policy('shop/egress', {
        podSelector: everything(),
        policyTypes: ['egress'],
        egress: [rule([ipBlockPeer('10.0.0.0/8', ['10.128.0.0/9']), ipBlockPeer('fd00::/16')])],
      }),
    ]);
    const [v4, v6] = referencedSets(chain(result, 'pod_out_shop_web'));
    expect(set(result, v4!)).toMatchObject({ type: 'ipv4_addr', interval: true, elements: [{ prefix: { addr: '10.0.0.0', len: 9 } }] });
    expect(set(result, v6!)).toMatchObject({ type: 'ipv6_addr', interval: true, elements: [{ prefix: { addr: 'fd00::', len: 16 } }] });
  });

  it('emits nothing for an ipBlock whose exceptions cover it', () => {
    const result = compile([web], [
      policy('shop/none', { podSelector: everything(), ingress: [rule([ipBlockPeer('10.0.0.0/24', ['10.0.0.0/23'])])] }),
    ]);
    expect(chain(result, 'pod_in_shop_web').rules).toEqual(deniedTail('drop_in_shop_web'));
  });
});

describe('compilePlan: problems (fail closed)', () => {
  it('reports an invalid policy that isolates a local pod, which keeps only its drop', () => {
    const invalid = policy('shop/broken', {
      podSelector: selector({ app: 'web' }),
      errors: [{ object: 'NetworkPolicy shop/broken', field: 'spec.ingress[0].ports[0].port', message: 'must be between 1 and 65535' }],
    });
    const result = compile([web], [invalid]);
    expect(result.problems).toEqual([
      {
        kind: 'invalid-policy',
        object: 'NetworkPolicy shop/broken',
        field: 'spec.ingress[0].ports[0].port',
        message: 'must be between 1 and 65535; the policy allows nothing, so the pods it selects stay isolated',
      },
    ]);
    expect(chain(result, 'pod_in_shop_web').rules).toEqual(deniedTail('drop_in_shop_web'));
  });

  it('does not report invalid policies that isolate no pod of this node', () => {
    const invalid = policy('shop/broken', {
      podSelector: selector({ app: 'api' }),
      errors: [{ object: 'NetworkPolicy shop/broken', field: 'spec', message: 'bad' }],
    });
    expect(compile([web, remoteApi], [invalid]).problems).toEqual([]);
  });

  it('reports a rule it cannot express with object and field, and drops only that rule', () => {
    const result = compile([web], [
      policy('shop/odd', {
        podSelector: everything(),
        ingress: [rule([ipBlockPeer('10.0.0.0/8'), ipBlockPeer('not-a-cidr')]), rule([], [port(443)])],
      }),
    ]);
    expect(result.problems).toMatchObject([
      { kind: 'inexpressible', object: 'NetworkPolicy shop/odd', field: 'spec.ingress[0].from[1].ipBlock' },
    ]);
    expect(chain(result, 'pod_in_shop_web').rules.map((r) => r.comment)).toEqual(['shop/odd ingress[1]', undefined, undefined]);
  });

  it('keeps a shared address with the first local pod and reports the other', () => {
    const twin = pod('shop/web-old', { labels: { app: 'web' }, ips: ['10.0.1.1'], nodeName: NODE });
    const result = compile([web, twin], [allowWebFromApi]);
    expect(set(result, 'ingress_pods4').elements).toEqual([['10.0.1.1', { jump: { target: 'pod_in_shop_web' } }]]);
    expect(result.problems).toMatchObject([{ kind: 'inexpressible', object: 'Pod shop/web-old', field: 'status.podIPs' }]);
  });
});

describe('compilePlan: source binding', () => {
  const bindings: PodBinding[] = [
    { namespace: 'shop', name: 'web', hostIfname: 'vethaaaa', ips: ['10.0.1.1', 'FD00::1:1'] },
    { namespace: 'shop', name: 'api-2', hostIfname: 'vethremote', ips: ['10.0.2.2'] },
  ];

  it('binds local pods to their veth and reports local pods without a binding', () => {
    const result = compile([web, api, remoteApi, hostAgent], [], bindings);
    expect(set(result, 'pod_ports', bridge(result)).elements).toEqual(['vethaaaa']);
    expect(set(result, 'pod_src4', bridge(result)).elements).toEqual([{ concat: ['vethaaaa', '10.0.1.1'] }]);
    expect(set(result, 'pod_src6', bridge(result)).elements).toEqual([{ concat: ['vethaaaa', 'fd00::1:1'] }]);
    expect(result.unboundPods).toEqual([{ namespace: 'shop', name: 'api' }]);
  });

  it('leaves a pod unbound, with a problem, when its interface name cannot be an interface', () => {
    const result = compile([web], [], [{ namespace: 'shop', name: 'web', hostIfname: 'veth-name-far-too-long', ips: ['10.0.1.1'] }]);
    expect(set(result, 'pod_ports', bridge(result)).elements).toEqual([]);
    expect(result.unboundPods).toEqual([{ namespace: 'shop', name: 'web' }]);
    expect(result.problems).toMatchObject([{ kind: 'inexpressible', object: 'Pod shop/web', field: 'binding.hostIfname' }]);
  });

  it('accepts a bound (veth, source) pair with one lookup, lets IPv6 link-local and :: pass, and drops other IP sources of bound veths', () => {
    const result = compile([web], [], bindings);
    const protocol = (right: unknown) => ({ match: { op: '==', left: { meta: { key: 'protocol' } }, right } });
    const saddr = (family: 'ip' | 'ip6') => ({ payload: { protocol: family, field: 'saddr' } });
    const iifname = { meta: { key: 'iifname' } };
    // An allowed frame is one protocol compare and one lookup of its (veth, source) pair; nothing after it runs.
    expect(bridge(result).chains[0]!.rules.map((rule) => rule.expr)).toEqual([
      [protocol('ip'), { match: { op: '==', left: { concat: [iifname, saddr('ip')] }, right: '@pod_src4' } }, { accept: null }],
      [protocol('ip6'), { match: { op: '==', left: { concat: [iifname, saddr('ip6')] }, right: '@pod_src6' } }, { accept: null }],
      [protocol('ip6'), { match: { op: '==', left: saddr('ip6'), right: { set: ['::', { prefix: { addr: 'fe80::', len: 10 } }] } } }, { accept: null }],
      [protocol({ set: ['ip', 'ip6'] }), { match: { op: '==', left: iifname, right: '@pod_ports' } }, { drop: null }],
    ]);
  });
});

describe('names', () => {
  it('keeps namespace and pod readable and splits them one way only', () => {
    expect(podChainName({ namespace: 'a', name: 'b-c' }, 'ingress')).toBe('pod_in_a_b-c');
    expect(podChainName({ namespace: 'a-b', name: 'c' }, 'ingress')).toBe('pod_in_a-b_c');
    expect(dropCounterName({ namespace: 'a', name: 'b.c' }, 'egress')).toBe('drop_out_a_b.c');
  });

  it('cuts long names to 64 characters with a stable hash of the full name', () => {
    const long = { namespace: 'shop', name: `${'p'.repeat(200)}-0` };
    const sibling = { namespace: 'shop', name: `${'p'.repeat(200)}-1` };
    const name = podChainName(long, 'egress');
    expect(name).toHaveLength(64);
    expect(name).toMatch(/^pod_out_shop_p+__[0-9a-f]{10}$/);
    expect(podChainName(long, 'egress')).toBe(name);
    expect(podChainName(sibling, 'egress')).not.toBe(name);
  });

  it('hashes names with characters nft would not read back, so they cannot pass for plain ones', () => {
    const odd = podChainName({ namespace: 'a', name: 'B_c' }, 'ingress');
    expect(odd).toMatch(/^pod_in_a_--c__[0-9a-f]{10}$/);
  });
});

describe('compilePlan: unknown local pods', () => {
  const snapshot = snapshotOf({ namespaces: [namespace('shop')], pods: [web, api, remoteApi, hostAgent], policies: [allowWebFromApi] });
  const guarded = (podCidrs: readonly string[]) => compilePlan(snapshot, { nodeName: NODE, bindings: [], unknownLocalPods: { podCidrs } });

  it('lets through, inside the CIDRs, only the known local pods and the bridge gateway; its counter is no pod’s', () => {
    const result = guarded(['10.0.1.0/24', 'fd00::1:0/112']);
    expect(set(result, 'local_cidrs4').elements).toEqual([{ prefix: { addr: '10.0.1.0', len: 24 } }]);
    expect(set(result, 'local_pods4').elements).toEqual(['10.0.1.1', '10.0.1.2']);
    expect(set(result, 'local_pods6').elements).toEqual(['fd00::1:1']);
    expect(result.plan.unknownLocalPodsCounter).toBe(UNKNOWN_LOCAL_PODS_COUNTER);
    expect(inet(result).counters).toContain(UNKNOWN_LOCAL_PODS_COUNTER);
    expect(Object.keys(result.plan.counters)).not.toContain(UNKNOWN_LOCAL_PODS_COUNTER);
    for (const name of ['egress', 'ingress']) {
      expect(chain(result, name).rules.filter((r) => r.expr.some((s) => 'counter' in s && s.counter === UNKNOWN_LOCAL_PODS_COUNTER))).toHaveLength(2);
    }
  });

  it('adds nothing without the option, and a rule only for a family that has a CIDR', () => {
    const plain = compile([web, api, remoteApi, hostAgent], [allowWebFromApi]);
    expect(plain.plan.unknownLocalPodsCounter).toBeUndefined();
    expect(inet(plain).sets.map((s) => s.name).filter((n) => n.startsWith('local_'))).toEqual([]);
    expect(chain(guarded(['10.0.1.0/24']), 'egress').rules.filter((r) => JSON.stringify(r).includes('@local_cidrs'))).toHaveLength(1);
  });

  it('refuses a pod CIDR that is not one, or two that overlap', () => {
    expect(() => guarded(['10.0.1.0/33'])).toThrow(/pod CIDR "10.0.1.0\/33" is not a CIDR/);
    expect(() => guarded(['10.0.0.0/16', '10.0.1.0/24'])).toThrow(/overlap/);
  });
});
