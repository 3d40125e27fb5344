import { describe, expect, it } from 'vitest';
import { findingsChange } from '../../src/agent/findings.js';
import { resolveAgentOptions } from '../../src/agent/options.js';
import { planObjectOwners } from '../../src/agent/plan-owners.js';
import { syncStep } from '../../src/agent/sync-step.js';
import { dropCounterName, podChainName } from '../../src/compile/index.js';
import type { NftCommandTarget } from '../../src/nft/index.js';
import { pod, podPeer, policy, rule, selector, snapshotOf } from '../support/builders.js';

const db = pod('prod/db', { labels: { app: 'db' }, ips: ['10.244.1.6'], nodeName: 'node-a' });
const web = pod('prod/web', { labels: { app: 'web' }, ips: ['10.244.2.5'], nodeName: 'node-b' });
const allowDb = policy('prod/allow-db', { podSelector: selector({ app: 'db' }), ingress: [rule([podPeer({ podSelector: selector({ app: 'web' }) })])] });
const dbBinding = { namespace: 'prod', name: 'db', hostIfname: 'veth1a2b3c4d', ips: ['10.244.1.6'] };
const compileOptions = { nodeName: 'node-a', bindings: [dbBinding] };
const cluster = snapshotOf({ pods: [db, web], policies: [allowDb] });

const verbs = (step: ReturnType<typeof syncStep>) => step.transaction.nftables.map((command) => Object.keys(command)[0]);

describe('syncStep', () => {
  it('rebuilds the tables in one transaction when what the kernel holds is not known', () => {
    const step = syncStep(undefined, cluster, compileOptions);
    expect(step.replacesTables).toBe(true);
    expect(step.transaction.nftables.slice(0, 3)).toEqual([
      { add: { table: { family: 'inet', name: 'bulkhead' } } },
      { delete: { table: { family: 'inet', name: 'bulkhead' } } },
      { add: { table: { family: 'inet', name: 'bulkhead' } } },
    ]);
    expect(step.desired.tables.flatMap((t) => t.chains.map((c) => c.name))).toContain(podChainName(db, 'ingress'));
    expect(step.problems).toEqual([]);
    expect(step.unboundPods).toEqual([]);
  });

  it('has nothing to do when the kernel holds the plan already', () => {
    const first = syncStep(undefined, cluster, compileOptions);
    const again = syncStep(first.desired, cluster, compileOptions);
    expect(again.transaction.nftables).toEqual([]);
    expect(again.replacesTables).toBe(false);
  });

  it('turns a peer pod appearing elsewhere into element adds only', () => {
    const first = syncStep(undefined, cluster, compileOptions);
    const web2 = pod('prod/web-2', { labels: { app: 'web' }, ips: ['10.244.3.7'], nodeName: 'node-c' });
    const step = syncStep(first.desired, snapshotOf({ pods: [db, web, web2], policies: [allowDb] }), compileOptions);
    expect(verbs(step)).toEqual(['add']);
    expect(step.transaction.nftables[0]).toMatchObject({ add: { element: { elem: ['10.244.3.7'] } } });
  });

  it('reports local pods without a CNI binding and invalid policies that isolate local pods', () => {
    const broken = policy('prod/broken', {
      podSelector: selector({ app: 'db' }),
      errors: [{ object: 'NetworkPolicy prod/broken', field: 'spec.ingress[0].from[0].ipBlock.cidr', message: 'must be a valid CIDR value' }],
    });
    const step = syncStep(undefined, snapshotOf({ pods: [db, web], policies: [allowDb, broken] }), { nodeName: 'node-a', bindings: [] });
    expect(step.unboundPods).toEqual([{ namespace: 'prod', name: 'db' }]);
    expect(step.problems).toMatchObject([{ kind: 'invalid-policy', object: 'NetworkPolicy prod/broken', field: 'spec.ingress[0].from[0].ipBlock.cidr' }]);
  });
});

describe('planObjectOwners', () => {
  const { desired } = syncStep(undefined, cluster, compileOptions);
  const target = (kind: NftCommandTarget['kind'], name: string, comment?: string): NftCommandTarget => ({
    verb: 'add',
    kind,
    family: 'inet',
    table: 'bulkhead',
    name,
    ...(comment === undefined ? {} : { comment }),
  });
  const peerSet = desired.tables[0]?.sets.find((s) => s.name.startsWith('peer4_'))?.name ?? 'no peer set';

  it.each([
    ['a pod chain: its pod', target('chain', podChainName(db, 'ingress')), ['Pod prod/db (ingress)']],
    ['a pod counter: its pod', target('counter', dropCounterName(db, 'ingress')), ['Pod prod/db (ingress)']],
    [
      'a rule: its policy and its pod',
      target('rule', podChainName(db, 'ingress'), 'prod/allow-db ingress[0]'),
      ['NetworkPolicy prod/allow-db ingress[0]', 'Pod prod/db (ingress)'],
    ],
    ['a peer set: the pods and policy rules using it', target('element', peerSet), ['NetworkPolicy prod/allow-db ingress[0]', 'Pod prod/db (ingress)']],
    ['the table: nothing narrower', target('table', 'bulkhead'), []],
    ['a name the plan does not have', target('chain', 'pod_in_other_thing'), []],
  ])('%s', (_, failed, owners) => {
    expect(planObjectOwners([desired], failed)).toEqual(owners);
  });
});

describe('findingsChange', () => {
  const key = (s: string) => s;
  it('reports findings when they appear, once, and those that went away', () => {
    const first = findingsChange(new Set(), ['a', 'b', 'a'], key);
    expect(first.appeared).toEqual(['a', 'b']);
    const second = findingsChange(first.current, ['b', 'c'], key);
    expect(second.appeared).toEqual(['c']);
    expect(second.resolved).toEqual(['a']);
    const third = findingsChange(second.current, ['b', 'c'], key);
    expect(third.appeared).toEqual([]);
    expect(third.resolved).toEqual([]);
  });
});

describe('resolveAgentOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveAgentOptions({ nodeName: 'node-a', source: { kind: 'manifests', directory: '/m' } }).options).toEqual({
      nodeName: 'node-a',
      source: { kind: 'manifests', directory: '/m' },
      cniResultsDir: '/var/lib/cni/results',
      debounceMs: 100,
      maxDelayMs: 1_000,
      rescanIntervalMs: 5_000,
    });
  });

  it('stretches the default max delay to a longer debounce', () => {
    expect(resolveAgentOptions({ nodeName: 'n', source: { kind: 'manifests', directory: '/m' }, debounceMs: 3_000 }).options?.maxDelayMs).toBe(3_000);
  });

  it('names each bad option', () => {
    expect(
      resolveAgentOptions({
        nodeName: ' ',
        source: { kind: 'manifests', directory: '' },
        debounceMs: -1,
        maxDelayMs: 1.5,
        rescanIntervalMs: 0,
        unknownLocalPods: { podCidrs: ['10.244.1.0/24', '10.244.1.0'] },
        http: { address: 'localhost', port: 70_000, explain: true },
      }).errors,
    ).toEqual([
      '--node-name: must not be empty',
      '--manifests: must not be empty',
      '--debounce-ms: must be a whole number of milliseconds, not -1',
      'maxDelayMs: must be a whole number of milliseconds, not 1.5',
      'rescanIntervalMs: must be positive',
      '--pod-cidr: "10.244.1.0" is not a CIDR (10.244.1.0/24, fd00:10:244:1::/64)',
      '--http-address: "localhost" is not an IP address',
      '--http-port: must be a port number (0-65535), not 70000',
    ]);
    expect(resolveAgentOptions({ nodeName: 'n', source: { kind: 'cluster', connection: { kind: 'in-cluster' } }, unknownLocalPods: { podCidrs: [] } }).errors).toEqual([
      '--pod-cidr: --unknown-local-pods drop needs at least one pod CIDR of this node',
    ]);
  });

  it('keeps the cluster source, the fail-closed CIDRs and the HTTP endpoint', () => {
    const options = {
      nodeName: 'node-a',
      source: { kind: 'cluster', connection: { kind: 'kubeconfig', paths: ['/k'], context: 'prod' } },
      unknownLocalPods: { podCidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] },
      http: { address: '127.0.0.1', port: 9650, explain: false },
    } as const;
    expect(resolveAgentOptions(options).options).toMatchObject(options);
  });
});
