// The mistakes our users learn from: the seed articles' example policies (test/fixtures/seeds), loaded as
// manifests into a small cluster, and what lint says of each. The articles' claims are in each fixture's header.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POD_CIDRS, parseManifests } from '../../src/model/index.js';
import { lint } from '../../src/policy/lint/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';

const SEEDS = join(import.meta.dirname, '..', 'fixtures', 'seeds');

// The cluster the examples are applied to: an app in default and in production, the cluster DNS in kube-system.
const CLUSTER = `
apiVersion: v1
kind: Namespace
metadata: {name: production, labels: {env: production}}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, labels: {app: frontend}}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, labels: {app: backend}}
spec: {containers: [{name: api, image: api, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: production, labels: {app: web}}
spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  containers:
    - name: coredns
      image: coredns
      ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}]
`;

function lintSeed(file: string) {
  const loaded = parseManifests(
    [
      { source: 'cluster.yaml', text: CLUSTER },
      { source: file, text: readFileSync(join(SEEDS, file), 'utf8') },
    ],
    { defaultNamespace: 'default', podCidrs: DEFAULT_POD_CIDRS },
  );
  expect(loaded.errors).toEqual([]);
  return lint(buildSnapshot(loaded));
}

describe('lint on the seed articles', () => {
  it.each([
    ['30-typo-fronted.yaml', [['selector-matches-nothing', 'spec.podSelector.matchLabels.app', 'did you mean app: frontend?']]],
    ['31-missing-policytypes.yaml', [['egress-left-open', 'spec.policyTypes', 'no policyTypes: it defaults to Ingress only, so egress stays open']]],
    [
      '24-or-namespace-or-pod.yaml',
      [
        ['and-or-trap', 'spec.ingress[0].from[1]', "OR'd"],
        ['egress-left-open', 'spec.policyTypes', '2 pods (default/backend, default/frontend)'],
      ],
    ],
    [
      '25-two-and-peers-in-one-rule.yaml',
      [
        ['namespace-label-missing', 'spec.ingress[0].from[0].namespaceSelector.matchLabels.name', 'no namespace has the label name'],
        ['namespace-label-missing', 'spec.ingress[0].from[1].namespaceSelector.matchLabels.name', 'no namespace has the label name'],
        ['egress-left-open', 'spec.policyTypes', 'egress stays open'],
      ],
    ],
    [
      '20-allow-dns-access.yaml',
      [
        ['dns-blocked', 'spec.egress', 'so name resolution fails'],
        ['namespace-label-missing', 'spec.egress[0].to[0].namespaceSelector.matchLabels.name', 'name=kube-system selects no namespace'],
      ],
    ],
    ['16-deny-all-egress.yaml', [['dns-blocked', 'spec.egress', '1 pod (production/web)']]],
    ['14-allow-dns.yaml', []],
    ['05-allow-frontend-ingress-to-backend.yaml', []],
    [
      '29-named-port.yaml',
      [
        ['named-port-undeclared', 'spec.ingress[0].ports[0].port', 'named port http (TCP) is declared by none of the pods this policy selects'],
        ['egress-left-open', 'spec.policyTypes', 'egress stays open'],
      ],
    ],
    [
      '22-allow-external-payment-api.yaml',
      [
        ['namespace-label-missing', 'spec.egress[2].to[0].namespaceSelector.matchLabels.name', 'no namespace has the label name'],
        ['selector-matches-nothing', 'spec.podSelector.matchLabels.app', 'this policy applies to no pod'],
      ],
    ],
  ] as const)('%s', (file, expected) => {
    const said = lintSeed(file).filter((w) => w.source === file);
    expect(said.map((w) => [w.check, w.field])).toEqual(expected.map(([check, field]) => [check, field]));
    said.forEach((w, i) => expect(w.message).toContain(expected[i]![2]));
  });
});
