// kernelDrift against what the real nft lists: a compiled plan applied in a throwaway netns shows no drift, and
// each way of tampering with the tables is found and named.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeDrift, type KernelDrift, kernelDrift, nftKernelLister, ruleSignature } from '../../src/agent/drift/index.js';
import { compilePlan, diffPlans, fullTransaction, type Plan, type NftTransaction } from '../../src/compile/index.js';
import { createNftRunner, type NftRunner } from '../../src/nft/index.js';
import { containerPort, ipBlockPeer, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';
import { useThrowawayNetns } from '../support/netns.js';

const netns = useThrowawayNetns('bhd');
const { nft, nftScript } = netns;
let runner: NftRunner;

const db = pod('prod/db', { labels: { app: 'db' }, ips: ['10.244.1.6', 'fd00:10:244:1::6'], nodeName: 'node-a', ports: [containerPort(5432, 'pg')] });
const web = pod('prod/web', {
  labels: { app: 'web' },
  ips: ['10.244.2.5', 'fd00:10:244:2::5'],
  nodeName: 'node-b',
  ports: [containerPort(5432, 'pg'), containerPort(53, 'dns', 'UDP')],
});
const allowDb = policy('prod/allow-db', {
  podSelector: selector({ app: 'db' }),
  ingress: [
    rule(
      [podPeer({ podSelector: selector({ app: 'web' }) }), ipBlockPeer('10.0.0.0/8', ['10.1.0.0/16']), ipBlockPeer('fd00::/8', ['fd00:1::/32'])],
      [port('pg'), port(80, 'TCP', 90), port(53, 'UDP')],
    ),
  ],
  egress: [rule([podPeer({ podSelector: selector({ app: 'web' }) })], [port('pg'), port('dns', 'UDP')])],
});
const bindings = [{ namespace: 'prod', name: 'db', hostIfname: 'veth1a2b3c4d', ips: ['10.244.1.6', 'fd00:10:244:1::6'] }];
const compile = (pods: typeof db[]) => compilePlan(snapshotOf({ pods, policies: [allowDb] }), { nodeName: 'node-a', bindings }).plan;
const plan = compile([db, web]);

const setNamed = (prefix: string) => {
  const name = plan.tables.flatMap((t) => t.sets).find((s) => s.name.startsWith(prefix))?.name;
  if (!name) throw new Error(`the plan has no set ${prefix}*`);
  return name;
};
const peer4 = setNamed('peer4_');
const cidr4 = setNamed('cidr4_');
const nport4 = setNamed('nport4_');

async function apply(transaction: NftTransaction): Promise<void> {
  expect(await runner.apply(transaction)).toMatchObject({ ok: true });
}

async function drift(against: Plan = plan): Promise<KernelDrift[]> {
  const lister = nftKernelLister(netns.nftPath, 10_000);
  return kernelDrift(against, await lister(against.tables));
}

/** The handle of the first rule of `chain` whose listing line matches `pattern`. */
function ruleHandle(chain: string, pattern: RegExp): string {
  const line = nft('-a', 'list', 'chain', 'inet', 'bulkhead', chain)
    .split('\n')
    .find((l) => !/^\s*(table|chain) /.test(l) && pattern.test(l));
  const handle = line && /# handle (\d+)/.exec(line)?.[1];
  if (!handle) throw new Error(`no rule matching ${pattern} in chain ${chain}`);
  return handle;
}

const inet = { family: 'inet', name: 'bulkhead' } as const;
const bridge = { family: 'bridge', name: 'bulkhead' } as const;

beforeAll(() => {
  runner = createNftRunner({ logger: pino({ level: 'silent' }), nftPath: netns.nftPath });
});

afterAll(async () => {
  await runner?.close();
});

describe('kernel drift against the real nft', () => {
  beforeEach(async () => {
    nft('flush', 'ruleset');
    await apply(fullTransaction(plan));
  });

  it('finds none right after the plan is applied, every kind of set, map and rule included', async () => {
    const sets = plan.tables.flatMap((t) => t.sets);
    // The plan exercises what normalisation has to get right: intervals, concatenations, maps, IPv6.
    expect(sets.some((s) => s.interval && s.elements.length > 0 && s.name.startsWith('cidr6_'))).toBe(true);
    expect(sets.some((s) => Array.isArray(s.type) && s.elements.length > 0)).toBe(true);
    expect(sets.some((s) => s.map === 'verdict' && s.elements.length > 0)).toBe(true);
    expect(await drift()).toEqual([]);
  });

  // The golden plans of every seed demo (SCTP, endPort ranges, named ports, IPv6, ipBlocks, the unknown-pods
  // guard): whatever nft makes of their rules and sets, none of it may read as drift, or the agent would rebuild
  // its tables at every check.
  it.each(goldenPlans())('finds none in the golden plan of %s', async (_name, golden) => {
    nft('flush', 'ruleset');
    await apply(fullTransaction(golden));
    expect(await drift(golden)).toEqual([]);
  });

  it('finds none with the sampling chain of allowed connections (--monitor-allowed)', async () => {
    const sampled = compilePlan(snapshotOf({ pods: [db, web], policies: [allowDb] }), { nodeName: 'node-a', bindings, monitorAllowed: { ratePerSecond: 7 } }).plan;
    await apply(fullTransaction(sampled));
    expect(await drift(sampled)).toEqual([]);
  });

  it('finds none after a diff is applied on top', async () => {
    const web2 = pod('prod/web-2', { labels: { app: 'web' }, ips: ['10.244.3.7', 'fd00:10:244:3::7'], nodeName: 'node-c', ports: [containerPort(5432, 'pg')] });
    const after = compile([db, web2]);
    await apply(diffPlans(plan, after));
    expect(await drift(after)).toEqual([]);
    // ...and the plan it replaced is no longer what the kernel holds.
    expect((await drift(plan)).map((d) => d.kind)).toContain('elements-missing');
  });

  it('finds a flushed set, naming it and what it lost', async () => {
    nft('flush', 'set', 'inet', 'bulkhead', peer4);
    expect(await drift()).toEqual([{ kind: 'elements-missing', table: inet, set: peer4, count: 1, sample: ['10.244.2.5'] }]);
  });

  it('finds elements added to a set and a verdict changed in a map', async () => {
    nftScript(
      [
        `add element inet bulkhead ${peer4} { 192.0.2.10 }`,
        'delete element inet bulkhead ingress_pods4 { 10.244.1.6 }',
        'add element inet bulkhead ingress_pods4 { 10.244.1.6 : jump pod_out_prod_db }',
        '',
      ].join('\n'),
    );
    expect(await drift()).toEqual([
      { kind: 'elements-missing', table: inet, set: 'ingress_pods4', count: 1, sample: ['10.244.1.6 : jump pod_in_prod_db'] },
      { kind: 'elements-extra', table: inet, set: 'ingress_pods4', count: 1, sample: ['10.244.1.6 : jump pod_out_prod_db'] },
      { kind: 'elements-extra', table: inet, set: peer4, count: 1, sample: ['192.0.2.10'] },
    ]);
  });

  it('finds an interval removed from an ipBlock set and an element removed from a concatenated set', async () => {
    nft('delete', 'element', 'inet', 'bulkhead', cidr4, '{ 10.0.0.0/16 }');
    nft('delete', 'element', 'inet', 'bulkhead', nport4, '{ 10.244.2.5 . udp . 53 }');
    nft('delete', 'element', 'bridge', 'bulkhead', 'pod_src4', '{ "veth1a2b3c4d" . 10.244.1.6 }');
    expect(await drift()).toEqual([
      { kind: 'elements-missing', table: inet, set: cidr4, count: 1, sample: ['10.0.0.0/16'] },
      { kind: 'elements-missing', table: inet, set: nport4, count: 1, sample: ['10.244.2.5 . 17 . 53'] },
      { kind: 'elements-missing', table: bridge, set: 'pod_src4', count: 1, sample: ['"veth1a2b3c4d" . 10.244.1.6'] },
    ]);
  });

  // Chains, positions and counts come from the plan, so that these hold whatever layout the compiler chooses.
  const chains = () => plan.tables.filter((t) => t.family === 'inet').flatMap((t) => t.chains);
  const rulesOf = (chain: string) => chains().find((c) => c.name === chain)?.rules ?? [];

  it('finds a deleted rule, an added rule and a rule replaced in place', async () => {
    const dispatchChain = chains().find((c) => c.rules.some((r) => ruleSignature(r) === '@ingress_pods4'));
    if (!dispatchChain) throw new Error('no chain of the plan dispatches to @ingress_pods4');
    const dispatch = dispatchChain.rules.findIndex((r) => ruleSignature(r) === '@ingress_pods4');
    const inCount = rulesOf('pod_in_prod_db').length;
    const outCount = rulesOf('pod_out_prod_db').length;
    nft('delete', 'rule', 'inet', 'bulkhead', 'pod_out_prod_db', 'handle', ruleHandle('pod_out_prod_db', /# handle/));
    nft('insert', 'rule', 'inet', 'bulkhead', 'pod_in_prod_db', 'accept');
    nft('replace', 'rule', 'inet', 'bulkhead', dispatchChain.name, 'handle', ruleHandle(dispatchChain.name, /ip daddr vmap @ingress_pods4/), 'ip daddr 192.0.2.1 accept');
    const found = await drift();
    const expected: KernelDrift[] = [
      { kind: 'rule-differs', table: inet, chain: dispatchChain.name, index: dispatch, expected: '@ingress_pods4', found: 'accept ip daddr{192.0.2.1}' },
      { kind: 'rule-count-differs', table: inet, chain: 'pod_in_prod_db', expected: inCount, found: inCount + 1 },
      { kind: 'rule-count-differs', table: inet, chain: 'pod_out_prod_db', expected: outCount, found: outCount - 1 },
    ];
    // The order follows the plan's chains, which the compiler lays out: compare in a fixed one.
    const byText = (a: KernelDrift, b: KernelDrift) => describeDrift(a).localeCompare(describeDrift(b));
    expect([...found].sort(byText)).toEqual(expected.sort(byText));
    expect(found.map(describeDrift).sort()).toEqual(
      [
        `chain inet bulkhead ${dispatchChain.name}: rule ${dispatch} is "accept ip daddr{192.0.2.1}", expected "@ingress_pods4"`,
        `chain inet bulkhead pod_in_prod_db: ${inCount + 1} rules, expected ${inCount}`,
        `chain inet bulkhead pod_out_prod_db: ${outCount - 1} rules, expected ${outCount}`,
      ].sort(),
    );
  });

  it('finds a rule whose ports alone were changed in place, same set and comment', async () => {
    const chain = 'pod_in_prod_db';
    const index = rulesOf(chain).findIndex((r) => r.comment === 'prod/allow-db ingress[0]' && JSON.stringify(r.expr).includes(`@${peer4}`));
    const planned = ruleSignature(rulesOf(chain)[index]!);
    expect(planned).toContain('l4proto.dport{');
    const handle = ruleHandle(chain, new RegExp(`ip saddr @${peer4} .*ingress\\[0\\]`));
    nft('replace', 'rule', 'inet', 'bulkhead', chain, 'handle', handle, 'ip', 'saddr', `@${peer4}`, 'meta', 'l4proto', '.', 'th', 'dport', '{', 'tcp', '.', '1-65535', '}', 'accept', 'comment', '"prod/allow-db ingress[0]"');
    expect(await drift()).toEqual([
      { kind: 'rule-differs', table: inet, chain, index, expected: planned, found: `accept @${peer4} l4proto.dport{6 . 1-65535} "prod/allow-db ingress[0]"` },
    ]);
  });

  it('finds a base chain whose policy was changed, and objects that are not ours', async () => {
    const base = chains().find((c) => c.hook !== undefined);
    if (!base?.hook) throw new Error('the plan has no base chain');
    const { type, hook, prio } = base.hook;
    nftScript(
      [
        `chain inet bulkhead ${base.name} { type ${type} hook ${hook} priority ${prio}; policy drop; }`,
        'add chain inet bulkhead intruder',
        'add set inet bulkhead intruders { type ipv4_addr; }',
        'add counter inet bulkhead intruded',
        '',
      ].join('\n'),
    );
    expect(await drift()).toEqual([
      {
        kind: 'chain-hook-differs',
        table: inet,
        chain: base.name,
        expected: `type ${type} hook ${hook} priority ${prio} policy accept`,
        found: `type ${type} hook ${hook} priority ${prio} policy drop`,
      },
      { kind: 'chain-extra', table: inet, chain: 'intruder' },
      { kind: 'set-extra', table: inet, set: 'intruders' },
      { kind: 'counter-extra', table: inet, counter: 'intruded' },
    ]);
  });

  it('finds a deleted table, and both after `nft flush ruleset`', async () => {
    nft('delete', 'table', 'inet', 'bulkhead');
    expect(await drift()).toEqual([{ kind: 'table-missing', table: inet }]);
    nft('flush', 'ruleset');
    expect(await drift()).toEqual([
      { kind: 'table-missing', table: inet },
      { kind: 'table-missing', table: bridge },
    ]);
  });

  it('rejects when nft fails for another reason than a missing table', async () => {
    const lister = nftKernelLister(join(netns.dir, 'no-such-nft'), 10_000);
    await expect(lister(plan.tables)).rejects.toThrow(/cannot list table inet bulkhead: cannot run .*no-such-nft/);
  });
});

function goldenPlans(): [string, Plan][] {
  const directory = join(import.meta.dirname, '..', 'golden', 'compile');
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => [entry.name, (JSON.parse(readFileSync(join(directory, entry.name, 'plan.json'), 'utf8')) as { plan: Plan }).plan]);
}
