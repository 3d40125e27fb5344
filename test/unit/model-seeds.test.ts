// The seed articles' example policies (test/fixtures/seeds): each one is valid and reads as the article wrote
// it, including where the article is wrong about what it means.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POD_CIDRS, loadManifests, type NetworkPolicy, parseManifests, type Peer } from '../../src/model/index.js';

const SEEDS = fileURLToPath(new URL('../fixtures/seeds/', import.meta.url));
const OPTIONS = { defaultNamespace: 'default', podCidrs: DEFAULT_POD_CIDRS };
const FILES = readdirSync(SEEDS).filter((f) => f.endsWith('.yaml')).sort();

async function policyOf(file: string): Promise<NetworkPolicy> {
  const result = await loadManifests([join(SEEDS, file)], OPTIONS);
  expect(result.errors).toEqual([]);
  expect(result.warnings).toEqual([]);
  expect(result.policies).toHaveLength(1);
  return result.policies[0]!;
}

const labels = (matchLabels: Record<string, string>) => ({ matchLabels, matchExpressions: [] });
const ALL = labels({});
const pods = (selectors: { podSelector?: Record<string, string>; namespaceSelector?: Record<string, string> }): Peer => ({
  kind: 'pods',
  ...(selectors.namespaceSelector ? { namespaceSelector: labels(selectors.namespaceSelector) } : {}),
  ...(selectors.podSelector ? { podSelector: labels(selectors.podSelector) } : {}),
});

describe('seed fixtures', () => {
  it('number one example each, 01 to 34', () => {
    expect(FILES.map((f) => f.slice(0, 2))).toEqual(Array.from({ length: 34 }, (_, i) => String(i + 1).padStart(2, '0')));
  });

  it.each(FILES)('%s names its seed and says what the article claims and what the API does', (file) => {
    const header = readFileSync(join(SEEDS, file), 'utf8').split('\n').filter((line) => line.startsWith('#')).join('\n');
    expect(header).toMatch(/^# Seed: \/work\/shared\/seeds\/00[0-4]_[0-9a-f]{16}\.txt \(".+"/m);
    expect(header).toMatch(/^# Section: /m);
    expect(header).toMatch(/^# Article claims: /m);
    expect(header).toMatch(/^# Actually: /m);
    expect(header).toMatch(/^# Verdict: (correct|wrong)/m);
  });

  it.each(FILES)('%s is one valid NetworkPolicy', async (file) => {
    await policyOf(file);
  });

  it('load all together without clashing names', async () => {
    const result = await loadManifests([SEEDS], OPTIONS);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.policies).toHaveLength(FILES.length);
    expect(result.namespaces.map((n) => n.name)).toEqual(['backend', 'default', 'production']);
  });
});

describe('what the seed policies read as', () => {
  it('02: the docs example ORs an ipBlock with except, a namespace and a pod peer, on TCP 6379', async () => {
    const policy = await policyOf('02-my-network-policy.yaml');
    expect(policy.policyTypes).toEqual(['ingress', 'egress']);
    expect(policy.ingress).toEqual([
      {
        peers: [
          { kind: 'ipBlock', ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
          pods({ namespaceSelector: { project: 'myproject' } }),
          pods({ podSelector: { role: 'frontend' } }),
        ],
        ports: [{ protocol: 'TCP', port: 6379 }],
      },
    ]);
    expect(policy.egress).toEqual([
      { peers: [{ kind: 'ipBlock', ipBlock: { cidr: '10.0.0.0/24', except: [] } }], ports: [{ protocol: 'TCP', port: 5978 }] },
    ]);
  });

  it('03: namespace isolation by the label the API server sets', async () => {
    const policy = await policyOf('03-allow-from-frontend-namespace.yaml');
    expect(policy).toMatchObject({ namespace: 'backend', podSelector: ALL, policyTypes: ['ingress'] });
    expect(policy.ingress).toEqual([{ peers: [pods({ namespaceSelector: { 'kubernetes.io/metadata.name': 'frontend' } })], ports: [] }]);
  });

  it.each([
    ['04-deny-all-ingress-to-backend.yaml', ['ingress']],
    ['07-deny-all-ingress.yaml', ['ingress']],
    ['11-default-deny-all.yaml', ['ingress', 'egress']],
    ['15-deny-all-ingress-production.yaml', ['ingress']],
    ['16-deny-all-egress.yaml', ['egress']],
    ['30-typo-fronted.yaml', ['ingress']],
  ])('%s: isolates %j and allows nothing', async (file, policyTypes) => {
    const policy = await policyOf(file);
    expect([policy.policyTypes, policy.ingress, policy.egress]).toEqual([policyTypes, [], []]);
  });

  it('13, 14: namespace and pod selectors in one peer (AND)', async () => {
    expect((await policyOf('13-allow-prometheus-cross-namespace.yaml')).ingress[0]?.peers).toEqual([
      pods({ namespaceSelector: { environment: 'monitoring' }, podSelector: { app: 'prometheus' } }),
    ]);
    const dns = await policyOf('14-allow-dns.yaml');
    expect(dns.egress).toEqual([
      {
        peers: [{ kind: 'pods', namespaceSelector: ALL, podSelector: labels({ 'k8s-app': 'kube-dns' }) }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
  });

  it('18: two labels of one matchLabels, the quoted "true" a string', async () => {
    expect((await policyOf('18-postgres-access-control.yaml')).ingress[0]?.peers).toEqual([
      pods({ podSelector: { tier: 'backend', 'access-db': 'true' } }),
    ]);
  });

  it('22: "internal cluster traffic" is the pods of its own namespace only', async () => {
    const policy = await policyOf('22-allow-external-payment-api.yaml');
    expect(policy.namespace).toBe('default');
    expect(policy.egress[0]).toEqual({ peers: [pods({ podSelector: {} })], ports: [] });
    expect(policy.egress[2]).toEqual({ peers: [pods({ namespaceSelector: { name: 'kube-system' } })], ports: [{ protocol: 'UDP', port: 53 }] });
  });

  it('25 and 26: the "wrong" and the "correct" version allow the same peers', async () => {
    const wrong = await policyOf('25-two-and-peers-in-one-rule.yaml');
    const correct = await policyOf('26-two-rules-one-peer-each.yaml');
    const a = pods({ namespaceSelector: { name: 'a' }, podSelector: { app: 'x' } });
    const b = pods({ namespaceSelector: { name: 'b' }, podSelector: { app: 'y' } });
    expect(wrong.ingress).toEqual([{ peers: [a, b], ports: [] }]);
    expect(correct.ingress).toEqual([
      { peers: [a], ports: [] },
      { peers: [b], ports: [] },
    ]);
  });

  it('25 as printed ({app: y} unquoted) is rejected, as kubectl rejects it: y is a YAML 1.1 boolean', async () => {
    const printed = readFileSync(join(SEEDS, '25-two-and-peers-in-one-rule.yaml'), 'utf8').replace('{app: "y"}', '{app: y}');
    const result = parseManifests([{ source: 'printed.yaml', text: printed }], OPTIONS);
    expect(result.errors).toEqual([
      {
        object: 'NetworkPolicy default/two-and-peers-in-one-rule',
        field: 'spec.ingress[0].from[1].podSelector.matchLabels',
        message: 'Invalid value: true: label "app" must be a string, not a boolean (quote it in YAML)',
        source: 'printed.yaml',
      },
    ]);
    expect(result.policies[0]).toMatchObject({ podSelector: ALL, policyTypes: ['ingress'], ingress: [] });
  });

  it('27: the except narrows only its own ipBlock, a separate peer from 10.0.0.0/8', async () => {
    const policy = await policyOf('27-private-ranges-with-except.yaml');
    expect(policy.policyTypes).toEqual(['egress']);
    expect(policy.egress).toEqual([
      {
        peers: [
          { kind: 'ipBlock', ipBlock: { cidr: '10.0.0.0/8', except: [] } },
          { kind: 'ipBlock', ipBlock: { cidr: '172.16.0.0/12', except: [] } },
          { kind: 'ipBlock', ipBlock: { cidr: '192.168.0.0/16', except: [] } },
          { kind: 'ipBlock', ipBlock: { cidr: '10.10.0.0/16', except: ['10.10.5.0/24'] } },
        ],
        ports: [],
      },
    ]);
  });

  it('29: the Service is skipped; the policy keeps its named port', async () => {
    const policy = await policyOf('29-named-port.yaml');
    expect(policy.ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: 'http' }]);
  });

  it('31 and 32: policyTypes defaulted to Ingress, or both given with no egress rule', async () => {
    expect((await policyOf('31-missing-policytypes.yaml')).policyTypes).toEqual(['ingress']);
    const both = await policyOf('32-policytypes-both.yaml');
    expect([both.policyTypes, both.egress, both.ingress.length]).toEqual([['ingress', 'egress'], [], 1]);
  });

  it('33: annotations are kept, as strings', async () => {
    expect((await policyOf('33-annotated.yaml')).annotations).toEqual({
      description: 'Allows frontend to access backend API only on port 8080',
      owner: 'platform-team',
      reviewed: '2025-01-15',
    });
  });
});
