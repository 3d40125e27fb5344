// lint() as the CLI sees it: the warning shape, the order, one warning per field, disabling checks.
import { describe, expect, it } from 'vitest';
import type { NetworkPolicy } from '../../src/model/types.js';
import { CHECK_IDS, lint } from '../../src/policy/lint/index.js';
import { namespace, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const namespaces = [namespace('prod', { team: 'a' }), namespace('kube-system')];
const pods = [
  pod('prod/frontend', { labels: { app: 'frontend' }, ips: ['10.244.1.10'] }),
  pod('prod/backend', { labels: { app: 'backend' }, ips: ['10.244.1.11'] }),
];
const fromPods = (app: string) => podPeer({ podSelector: selector({ app }) });
const withSource = (p: NetworkPolicy, source: string): NetworkPolicy => ({ ...p, source });

// Twelve peers, the third and the eleventh with typos: their fields differ only in a two-digit index.
const manyPeers = withSource(
  policy('prod/many', {
    podSelector: selector({ app: 'backend' }),
    policyTypes: ['ingress'],
    ingress: [rule(Array.from({ length: 12 }, (_, i) => fromPods(i === 2 || i === 10 ? 'fronted' : 'frontend')))],
  }),
  'policies/many.yaml',
);
const dnsBySeedArticle = policy('prod/allow-dns', {
  policyTypes: ['egress'],
  egress: [rule([podPeer({ namespaceSelector: selector({ name: 'kube-system' }) })], [port(53, 'UDP'), port(53, 'TCP')])],
});
const typoTarget = policy('prod/a-first', { podSelector: selector({ app: 'backnd' }), policyTypes: ['ingress'] });

const snapshot = snapshotOf({ namespaces, pods, policies: [manyPeers, dnsBySeedArticle, typoTarget] });

describe('lint', () => {
  it('orders by object, then field with indexes compared as numbers', () => {
    expect(lint(snapshot).map((w) => `${w.object} ${w.field}`)).toEqual([
      'NetworkPolicy prod/a-first spec.podSelector.matchLabels.app',
      'NetworkPolicy prod/allow-dns spec.egress[0].to[0].namespaceSelector.matchLabels.name',
      'NetworkPolicy prod/many spec.ingress[0].from[2].podSelector.matchLabels.app',
      'NetworkPolicy prod/many spec.ingress[0].from[10].podSelector.matchLabels.app',
    ]);
  });

  it('gives the same warnings whatever the order of the input', () => {
    const reversed = snapshotOf({ namespaces, pods: [...pods].reverse(), policies: [typoTarget, dnsBySeedArticle, manyPeers] });
    expect(lint(reversed)).toEqual(lint(snapshot));
  });

  it('says each thing once per field: namespace-label-missing speaks for a namespaceSelector term on a missing label', () => {
    const at = lint(snapshot).filter((w) => w.object === 'NetworkPolicy prod/allow-dns');
    expect(at.map((w) => w.check)).toEqual(['namespace-label-missing']);
  });

  it('lets selector-matches-nothing speak there when namespace-label-missing is disabled', () => {
    const at = lint(snapshot, { disable: ['namespace-label-missing'] }).filter((w) => w.object === 'NetworkPolicy prod/allow-dns');
    expect(at.map((w) => [w.check, w.field])).toEqual([
      ['selector-matches-nothing', 'spec.egress[0].to[0].namespaceSelector.matchLabels.name'],
    ]);
  });

  it('runs no disabled check', () => {
    expect(lint(snapshot, { disable: ['selector-matches-nothing'] }).map((w) => w.check)).toEqual(['namespace-label-missing']);
    expect(lint(snapshot, { disable: [...CHECK_IDS] })).toEqual([]);
  });

  it('carries the whole warning: check, object, field, one-line message and fix, and the source file when known', () => {
    const [withFile] = lint(snapshot).filter((w) => w.object === 'NetworkPolicy prod/many');
    expect(withFile).toEqual({
      check: 'selector-matches-nothing',
      object: 'NetworkPolicy prod/many',
      field: 'spec.ingress[0].from[2].podSelector.matchLabels.app',
      message: 'podSelector term app=fronted matches no pod in namespace prod, so this peer admits nobody; did you mean app: frontend?',
      fix: 'change it to app: frontend',
      source: 'policies/many.yaml',
    });
    const [withoutFile] = lint(snapshot);
    expect(withoutFile).not.toHaveProperty('source');
    for (const w of lint(snapshot)) {
      expect(w.message).not.toContain('\n');
      expect(w.fix).not.toContain('\n');
    }
  });

  it('finds nothing in a cluster without mistakes', () => {
    const clean = policy('prod/allow-frontend', {
      podSelector: selector({ app: 'backend' }),
      ingress: [rule([fromPods('frontend')], [port(8080)])],
    });
    const denyEgress = policy('prod/deny-egress', {
      policyTypes: ['egress'],
      egress: [rule([podPeer({ namespaceSelector: selector({ 'kubernetes.io/metadata.name': 'kube-system' }) })], [port(53, 'UDP'), port(53, 'TCP')])],
    });
    const dns = pod('kube-system/coredns', { labels: { 'k8s-app': 'kube-dns' }, ips: ['10.244.3.10'] });
    expect(lint(snapshotOf({ namespaces, pods: [...pods, dns], policies: [clean, denyEgress] }))).toEqual([]);
  });
});
