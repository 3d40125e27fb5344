// diffPlans is minimal and ordered: cluster changes that touch only peers become element changes, a removed
// policy removes its chain, nothing changed is an empty transaction, and every reference is created before use
// and dropped before its target is deleted. (The golden test applies such diffs with the real nft.)
import { describe, expect, it } from 'vitest';
import {
  type NftCommand,
  type NftTransaction,
  type Plan,
  compilePlan,
  diffPlans,
  fullTransaction,
  isEmptyTransaction,
} from '../../src/compile/index.js';
import type { NetworkPolicy, Pod } from '../../src/model/types.js';
import { containerPort, ipBlockPeer, namespace, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const NODE = 'node-a';

const web = pod('shop/web', { labels: { app: 'web' }, ips: ['10.0.1.1', 'fd00::1:1'], nodeName: NODE });
const api = pod('shop/api', { labels: { app: 'api' }, ips: ['10.0.1.2'], nodeName: NODE, ports: [containerPort(9000, 'http')] });
const remoteApi = pod('shop/api-2', { labels: { app: 'api' }, ips: ['10.0.2.2', 'fd00::2:2'], nodeName: 'node-b', ports: [containerPort(9001, 'http')] });
const remoteDb = pod('shop/db', { labels: { app: 'db' }, ips: ['10.0.2.9'], nodeName: 'node-b' });

const webFromApi = policy('shop/web-from-api', {
  podSelector: selector({ app: 'web' }),
  ingress: [rule([podPeer({ podSelector: selector({ app: 'api' }) })], [port(8080)])],
});
const webToApiHttp = policy('shop/web-to-api', {
  podSelector: selector({ app: 'web' }),
  policyTypes: ['egress'],
  egress: [rule([podPeer({ podSelector: selector({ app: 'api' }) })], [port('http')])],
});
const apiToDb = policy('shop/api-to-db', {
  podSelector: selector({ app: 'api' }),
  policyTypes: ['egress'],
  egress: [rule([podPeer({ podSelector: selector({ app: 'db' }) })], [port(5432)])],
});

function plan(pods: readonly Pod[], policies: readonly NetworkPolicy[]): Plan {
  return compilePlan(snapshotOf({ namespaces: [namespace('shop')], pods, policies }), { nodeName: NODE, bindings: [] }).plan;
}

/** `verb kind name` per command: the shape of a transaction. */
function shape(tx: NftTransaction): string[] {
  return tx.nftables.map(summary);
}

function summary(command: NftCommand): string {
  const [verb, object] = Object.entries(command)[0] as [string, Record<string, Record<string, unknown>>];
  const [kind, body] = Object.entries(object)[0] as [string, Record<string, unknown>];
  const name = kind === 'rule' ? body.chain : kind === 'table' ? `${String(body.family)} ${String(body.name)}` : body.name;
  return `${verb} ${kind} ${String(name)}`;
}
function kinds(tx: NftTransaction): Set<string> {
  return new Set(shape(tx).map((s) => s.split(' ').slice(0, 2).join(' ')));
}

describe('diffPlans: minimality', () => {
  const policies = [webFromApi, webToApiHttp, apiToDb];

  it('is empty when nothing changed', () => {
    const tx = diffPlans(plan([web, api, remoteApi], policies), plan([web, api, remoteApi], policies));
    expect(isEmptyTransaction(tx)).toBe(true);
  });

  it('only adds elements when a remote pod that is a peer appears', () => {
    const tx = diffPlans(plan([web, api], policies), plan([web, api, remoteApi], policies));
    expect(kinds(tx)).toEqual(new Set(['add element']));
    // Its addresses join the peer sets; its own named port joins the named-port sets.
    const elements = JSON.stringify(tx.nftables);
    expect(elements).toContain('"10.0.2.2"');
    expect(elements).toContain('{"concat":["10.0.2.2","tcp",9001]}');
    expect(elements).toContain('{"concat":["fd00::2:2","tcp",9001]}');
  });

  it('only deletes elements when a remote peer pod goes away', () => {
    const tx = diffPlans(plan([web, api, remoteApi, remoteDb], policies), plan([web, api, remoteApi], policies));
    expect(shape(tx)).toEqual([expect.stringMatching(/^delete element peer4_[0-9a-f]{16}$/)]);
  });

  it('changes nothing when a remote pod that no policy names appears', () => {
    const stranger = pod('shop/stranger', { labels: { app: 'other' }, ips: ['10.0.2.77'], nodeName: 'node-b' });
    expect(isEmptyTransaction(diffPlans(plan([web, api], policies), plan([web, api, stranger], policies)))).toBe(true);
  });

  it('removes a policy as its chain, counter, map entries and sets, and nothing more', () => {
    const tx = diffPlans(plan([web, api, remoteDb], policies), plan([web, api, remoteDb], [webFromApi, webToApiHttp]));
    expect(shape(tx)).toEqual([
      'delete element egress_pods4',
      'flush chain pod_out_shop_api',
      'delete chain pod_out_shop_api',
      expect.stringMatching(/^delete set peer4_/),
      expect.stringMatching(/^delete set peer6_/),
      'delete counter drop_out_shop_api',
    ]);
  });

  it('rewrites exactly the chain whose rules changed', () => {
    const widened = policy('shop/web-from-api', {
      podSelector: selector({ app: 'web' }),
      ingress: [rule([podPeer({ podSelector: selector({ app: 'api' }) })], [port(8080), port(8443)])],
    });
    const tx = diffPlans(plan([web, api], policies), plan([web, api], [widened, webToApiHttp, apiToDb]));
    expect(new Set(shape(tx))).toEqual(new Set(['flush chain pod_in_shop_web', 'add rule pod_in_shop_web']));
    expect(shape(tx)[0]).toBe('flush chain pod_in_shop_web');
  });

  it('moves an address to a new local pod by deleting its map key before adding it again', () => {
    const successor = pod('shop/web-2', { labels: { app: 'web' }, ips: ['10.0.1.1', 'fd00::1:1'], nodeName: NODE });
    const tx = diffPlans(plan([web, api], [webFromApi]), plan([successor, api], [webFromApi]));
    expect(shape(tx)).toEqual([
      'add counter drop_in_shop_web-2',
      'add chain pod_in_shop_web-2',
      'delete element ingress_pods4',
      'delete element ingress_pods6',
      'add element ingress_pods4',
      'add element ingress_pods6',
      'add rule pod_in_shop_web-2',
      'add rule pod_in_shop_web-2',
      'add rule pod_in_shop_web-2',
      'add rule pod_in_shop_web-2',
      'flush chain pod_in_shop_web',
      'delete chain pod_in_shop_web',
      'delete counter drop_in_shop_web',
    ]);
    // A map element is deleted by its key alone.
    expect(JSON.stringify(tx.nftables[2])).toContain('"elem":["10.0.1.1"]');
  });
});

describe('diffPlans: order', () => {
  it('creates objects before anything references them and deletes them after the last reference is gone', () => {
    const before = plan([web, api, remoteApi, remoteDb], [webFromApi]);
    const after = plan([web, api, remoteApi, remoteDb], [webToApiHttp, apiToDb, policy('shop/block', {
      podSelector: selector({ app: 'web' }),
      policyTypes: ['egress'],
      egress: [rule([ipBlockPeer('192.168.0.0/16', ['192.168.1.0/24'])])],
    })]);
    const steps = shape(diffPlans(before, after));
    const first = (pattern: RegExp) => steps.findIndex((s) => pattern.test(s));
    const last = (pattern: RegExp) => steps.length - 1 - [...steps].reverse().findIndex((s) => pattern.test(s));
    expect(last(/^add (chain|counter|set)/)).toBeLessThan(first(/^(add|delete) element|^add rule|^flush/));
    expect(last(/^delete element/)).toBeLessThan(first(/^add element/));
    expect(last(/^add rule/)).toBeLessThan(first(/^delete chain/));
    expect(last(/^flush chain/)).toBeLessThan(first(/^delete (set|counter)/));
  });
});

describe('diffPlans: rebuilds', () => {
  it('rebuilds both tables at start, deleting whatever held them in the same transaction', () => {
    const desired = plan([web, api], [webFromApi]);
    const tx = diffPlans(undefined, desired);
    expect(tx).toEqual(fullTransaction(desired));
    const steps = shape(tx);
    expect(steps.slice(0, 3)).toEqual(['add table inet bulkhead', 'delete table inet bulkhead', 'add table inet bulkhead']);
    const bridgeStart = steps.indexOf('add table bridge bulkhead');
    expect(steps.slice(bridgeStart, bridgeStart + 3)).toEqual(['add table bridge bulkhead', 'delete table bridge bulkhead', 'add table bridge bulkhead']);
  });

  it('rebuilds a table whose base chain changed hook, since a hook cannot change in place', () => {
    const applied = plan([web], [webFromApi]);
    const [inet, bridge] = applied.tables;
    const moved: Plan = {
      ...applied,
      tables: [{ ...inet!, chains: inet!.chains.map((c) => (c.hook ? { ...c, hook: { ...c.hook, prio: c.hook.prio + 10 } } : c)) }, bridge!],
    };
    const steps = shape(diffPlans(applied, moved));
    expect(steps.slice(0, 3)).toEqual(['add table inet bulkhead', 'delete table inet bulkhead', 'add table inet bulkhead']);
    expect(steps).not.toContain('add table bridge bulkhead');
  });

  it('refills an interval set that changed instead of deleting intervals one by one', () => {
    const applied = plan([web], [policy('shop/out', { podSelector: selector({ app: 'web' }), policyTypes: ['egress'], egress: [rule([ipBlockPeer('10.0.0.0/8')])] })]);
    const [inet, bridge] = applied.tables;
    const changed: Plan = {
      ...applied,
      tables: [
        { ...inet!, sets: inet!.sets.map((s) => (s.interval ? { ...s, elements: [{ prefix: { addr: '10.0.0.0', len: 9 } }] } : s)) },
        bridge!,
      ],
    };
    const tx = diffPlans(applied, changed);
    expect(shape(tx)).toEqual([expect.stringMatching(/^flush set cidr4_/), expect.stringMatching(/^add element cidr4_/)]);
  });

  it('deletes a table the desired plan no longer has', () => {
    const applied = plan([web], []);
    const desired: Plan = { ...applied, tables: applied.tables.filter((t) => t.family === 'inet') };
    expect(shape(diffPlans(applied, desired))).toEqual(['delete table bridge bulkhead']);
  });
});
