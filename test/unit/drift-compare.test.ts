// The pure half of drift detection: listings parsed, elements compared whatever form nft prints them in, rules
// compared by what they do. The same against the real nft is in drift-kernel.test.ts.
import { describe, expect, it } from 'vitest';
import { kernelDrift, parseTableListing, ruleSignature } from '../../src/agent/drift/index.js';
import type { Plan, SetPlan } from '../../src/compile/index.js';

const inet = { family: 'inet', name: 'bulkhead' } as const;

function listing(...objects: Record<string, unknown>[]): string {
  const scoped = objects.map((o) => {
    const [kind, body] = Object.entries(o)[0] as [string, Record<string, unknown>];
    return { [kind]: { family: 'inet', table: 'bulkhead', ...body } };
  });
  return JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, { table: { family: 'inet', name: 'bulkhead', handle: 1 } }, ...scoped] });
}

function planWithSet(set: SetPlan): Plan {
  return { tables: [{ ...inet, counters: [], chains: [], sets: [set] }], counters: {} };
}

/** The drift of one planned set against the elements nft lists for it. */
function setDrift(set: SetPlan, listed: readonly unknown[], extra: Record<string, unknown> = {}) {
  const type = set.type;
  const kind = set.map ? 'map' : 'set';
  const body = { name: set.name, type, ...(set.map ? { map: set.map } : {}), ...(set.interval ? { flags: ['interval'] } : {}), elem: listed, ...extra };
  return kernelDrift(planWithSet(set), [parseTableListing(inet, listing({ [kind]: body }))]);
}

describe('set elements, as the plan writes them and as nft lists them', () => {
  it('reads IPv6 addresses in any notation as the same address', () => {
    const set: SetPlan = { name: 'peer6_x', type: 'ipv6_addr', interval: false, elements: ['fd00:10:244:1::6'] };
    expect(setDrift(set, ['FD00:10:244:1:0:0:0:6'])).toEqual([]);
    const two: SetPlan = { ...set, elements: ['fd00:10:244:1::6', 'fd00:10:244:1::7'] };
    expect(setDrift(two, ['fd00:10:244:1::6', 'fd00:10:244:1:0:0:0:7'])).toEqual([]);
    expect(setDrift(two, ['fd00:10:244:1::6', 'fd00:10:244:1:0:0:0:8'])).toMatchObject([
      { kind: 'elements-missing', count: 1, sample: ['fd00:10:244:1::7'] },
      { kind: 'elements-extra', count: 1, sample: ['fd00:10:244:1::8'] },
    ]);
    expect(setDrift(set, ['fd00:10:244:1::7'])).toMatchObject([
      { kind: 'elements-missing', sample: ['fd00:10:244:1::6'] },
      { kind: 'elements-extra', sample: ['fd00:10:244:1::7'] },
    ]);
  });

  it('compares interval sets by the addresses they cover, merged, whatever mix of prefixes, ranges and addresses', () => {
    const set: SetPlan = {
      name: 'cidr4_x',
      type: 'ipv4_addr',
      interval: true,
      elements: [{ prefix: { addr: '10.0.0.0', len: 16 } }, { range: ['10.2.0.0', '10.255.255.255'] }, '192.0.2.7'],
    };
    const sameAddresses = [
      { range: ['10.0.0.0', '10.0.127.255'] },
      { prefix: { addr: '10.0.128.0', len: 17 } },
      { prefix: { addr: '10.2.0.0', len: 15 } },
      { range: ['10.4.0.0', '10.255.255.255'] },
      { prefix: { addr: '192.0.2.7', len: 32 } },
    ];
    expect(setDrift(set, sameAddresses)).toEqual([]);
    expect(setDrift(set, [{ prefix: { addr: '10.0.0.0', len: 16 } }, { range: ['10.2.0.0', '10.255.255.255'] }])).toEqual([
      { kind: 'elements-missing', table: inet, set: 'cidr4_x', count: 1, sample: ['192.0.2.7'] },
    ]);
    // An interval that lost a part is one interval missing and the parts left over extra.
    expect(setDrift(set, [{ prefix: { addr: '10.0.0.0', len: 17 } }, { range: ['10.2.0.0', '10.255.255.255'] }, '192.0.2.7'])).toEqual([
      { kind: 'elements-missing', table: inet, set: 'cidr4_x', count: 1, sample: ['10.0.0.0/16'] },
      { kind: 'elements-extra', table: inet, set: 'cidr4_x', count: 1, sample: ['10.0.0.0/17'] },
    ]);
  });

  it('reads concatenations part by part: protocols by name or number, ports as numbers, wrapped elements', () => {
    const set: SetPlan = { name: 'nport4_x', type: ['ipv4_addr', 'inet_proto', 'inet_service'], interval: false, elements: [{ concat: ['10.244.2.5', 'tcp', 5432] }] };
    expect(setDrift(set, [{ elem: { val: { concat: ['10.244.2.5', 6, 5432] }, counter: { packets: 0, bytes: 0 } } }])).toEqual([]);
    expect(setDrift(set, [{ concat: ['10.244.2.5', 'udp', 5432] }])).toMatchObject([
      { kind: 'elements-missing', sample: ['10.244.2.5 . 6 . 5432'] },
      { kind: 'elements-extra', sample: ['10.244.2.5 . 17 . 5432'] },
    ]);
  });

  it('tells map elements apart by their verdict too', () => {
    const set: SetPlan = { name: 'ingress_pods4', type: 'ipv4_addr', map: 'verdict', interval: false, elements: [['10.244.1.6', { jump: { target: 'pod_in_a_b' } }]] };
    expect(setDrift(set, [['10.244.1.6', { jump: { target: 'pod_in_a_b' } }]])).toEqual([]);
    expect(setDrift(set, [['10.244.1.6', { goto: { target: 'pod_in_a_b' } }], ['10.244.1.9', { accept: null }]])).toEqual([
      { kind: 'elements-missing', table: inet, set: 'ingress_pods4', count: 1, sample: ['10.244.1.6 : jump pod_in_a_b'] },
      { kind: 'elements-extra', table: inet, set: 'ingress_pods4', count: 2, sample: ['10.244.1.6 : goto pod_in_a_b', '10.244.1.9 : accept'] },
    ]);
  });

  it('counts every differing element and names a few, sorted', () => {
    const set: SetPlan = { name: 'peer4_x', type: 'ipv4_addr', interval: false, elements: Array.from({ length: 12 }, (_, i) => `10.0.0.${i + 1}`).sort() };
    expect(setDrift(set, [])).toEqual([
      { kind: 'elements-missing', table: inet, set: 'peer4_x', count: 12, sample: ['10.0.0.1', '10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.2'] },
    ]);
  });

  it('reports a set of another type or flags as such, without comparing its elements', () => {
    const set: SetPlan = { name: 'cidr4_x', type: 'ipv4_addr', interval: true, elements: ['192.0.2.7'] };
    expect(kernelDrift(planWithSet(set), [parseTableListing(inet, listing({ set: { name: 'cidr4_x', type: 'ipv4_addr', elem: ['192.0.2.8'] } }))])).toEqual([
      { kind: 'set-definition-differs', table: inet, set: 'cidr4_x', expected: 'ipv4_addr interval', found: 'ipv4_addr' },
    ]);
  });
});

describe('rules', () => {
  it('are compared by verdict, named objects and comment, not by the dependencies nft leaves out', () => {
    const planned = {
      expr: [
        { match: { op: '==', left: { meta: { key: 'protocol' } }, right: 'ip' } },
        { match: { op: '!=', left: { concat: [{ meta: { key: 'iifname' } }, { payload: { protocol: 'ip', field: 'saddr' } }] }, right: '@pod_src4' } },
        { counter: 'drop_x' },
        { drop: null },
      ],
      comment: 'spoofed',
    } as const;
    const listed = { expr: planned.expr.slice(1), comment: 'spoofed' };
    expect(ruleSignature(planned)).toBe('drop @pod_src4 counter drop_x "spoofed"');
    expect(ruleSignature(listed)).toBe(ruleSignature(planned));
    expect(ruleSignature({ ...listed, expr: [...planned.expr.slice(0, 3), { accept: null }] })).not.toBe(ruleSignature(planned));
    expect(ruleSignature({ expr: [{ jump: { target: 'pod_in_a_b' } }] })).toBe('jump pod_in_a_b');
  });
});

describe('rule literals', () => {
  const ports = (elements: readonly unknown[], op = '==') => ({
    expr: [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@peer4_a' } },
      { match: { op, left: { concat: [{ meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] }, right: { set: elements } } },
      { accept: null },
    ],
    comment: 'prod/p ingress[0]',
  });

  it('are part of the signature: ports, protocols by name or number, in any order', () => {
    const planned = ports([{ concat: ['tcp', 8080] }, { concat: ['udp', { range: [5000, 5010] }] }]);
    expect(ruleSignature(planned)).toBe('accept @peer4_a l4proto.dport{17 . 5000-5010, 6 . 8080} "prod/p ingress[0]"');
    expect(ruleSignature(ports([{ concat: [17, { range: [5000, 5010] }] }, { concat: [6, 8080] }]))).toBe(ruleSignature(planned));
    expect(ruleSignature(ports([{ concat: ['tcp', 8081] }, { concat: ['udp', { range: [5000, 5010] }] }]))).not.toBe(ruleSignature(planned));
    expect(ruleSignature(ports([{ concat: ['tcp', 8080] }, { concat: ['udp', { range: [5000, 5010] }] }], '!='))).not.toBe(ruleSignature(planned));
  });

  it('read addresses by what they cover, and leave out the dependencies nft may drop', () => {
    const sources = (right: unknown) => ({
      expr: [
        { match: { op: '==', left: { meta: { key: 'protocol' } }, right: 'ip6' } },
        { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'saddr' } }, right } },
        { accept: null },
      ],
    });
    const planned = sources({ set: ['::', { prefix: { addr: 'fe80::', len: 10 } }] });
    expect(ruleSignature({ expr: planned.expr.slice(1) })).toBe(ruleSignature(planned));
    expect(ruleSignature(sources({ set: [{ prefix: { addr: 'fe80:0::', len: 10 } }, '0::0'] }))).toBe(ruleSignature(planned));
    expect(ruleSignature(sources({ set: ['::', { prefix: { addr: 'fe80::', len: 9 } }] }))).not.toBe(ruleSignature(planned));
  });
});

describe('listings', () => {
  it('keep only the listed table, and attach rules to their chains in order', () => {
    const json = JSON.stringify({
      nftables: [
        { chain: { family: 'inet', table: 'bulkhead', name: 'c', handle: 1 } },
        { chain: { family: 'inet', table: 'other', name: 'theirs', handle: 1 } },
        { rule: { family: 'inet', table: 'bulkhead', chain: 'c', handle: 2, expr: [{ accept: null }] } },
        { rule: { family: 'inet', table: 'bulkhead', chain: 'c', handle: 3, expr: [{ drop: null }], comment: 'last' } },
        { quota: { family: 'inet', table: 'bulkhead', name: 'q', bytes: 1 } },
      ],
    });
    const table = parseTableListing(inet, json);
    expect([...table.chains.keys()]).toEqual(['c']);
    expect(table.chains.get('c')?.rules).toEqual([{ expr: [{ accept: null }] }, { expr: [{ drop: null }], comment: 'last' }]);
  });

  it('are rejected when malformed, so a broken listing is never taken for drift', () => {
    expect(() => parseTableListing(inet, '{}')).toThrow(/listing of table inet bulkhead has no "nftables" array/);
    expect(() => parseTableListing(inet, listing({ rule: { chain: 'gone', expr: [] } }))).toThrow(/rule of chain gone, which it does not list/);
    expect(() => parseTableListing(inet, listing({ set: { type: 'ipv4_addr' } }))).toThrow(/object without a name/);
    expect(() => parseTableListing(inet, 'nft: error')).toThrow();
  });
});
