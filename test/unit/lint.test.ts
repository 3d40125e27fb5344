// Each lint check, table-driven: cases that must warn (with the exact field), and near cases that must not.
import { describe, expect, it } from 'vitest';
import type { NetworkPolicy, Pod } from '../../src/model/types.js';
import { type CheckId, lint } from '../../src/policy/lint/index.js';
import {
  anyPort,
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

// The world every table runs in. prod has three pods; monitoring has none; kube-system has the cluster DNS and a
// hostNetwork agent on the node network.
const namespaces = [
  namespace('prod', { team: 'a', env: 'prod' }),
  namespace('dev', { env: 'dev' }),
  namespace('kube-system'),
  namespace('monitoring'),
];
const frontend = pod('prod/frontend', { labels: { app: 'frontend', tier: 'web' }, ips: ['10.244.1.10'], ports: [containerPort(8080, 'http')] });
const backend = pod('prod/backend', {
  labels: { app: 'backend', tier: 'api' },
  ips: ['10.244.1.11'],
  ports: [containerPort(8000, 'http'), containerPort(9090, 'metrics')],
});
const db = pod('prod/db', { labels: { app: 'db' }, ips: ['10.244.1.12'], ports: [containerPort(5432)] });
const tool = pod('dev/tool', { labels: { app: 'tool' }, ips: ['10.244.2.10'] });
const coredns = pod('kube-system/coredns', {
  labels: { 'k8s-app': 'kube-dns' },
  ips: ['10.244.3.10'],
  ports: [containerPort(53, 'dns', 'UDP'), containerPort(53, 'dns-tcp', 'TCP')],
});
const agent = pod('kube-system/node-agent', { labels: { app: 'node-agent' }, ips: ['172.18.0.2'], hostNetwork: true });
const pods: readonly Pod[] = [frontend, backend, db, tool, coredns, agent];

interface Expected {
  readonly field: string;
  /** Words the message must contain. */
  readonly says?: string;
  /** Words the fix must contain. */
  readonly fix?: string;
}

interface Case {
  readonly name: string;
  readonly policies: readonly NetworkPolicy[];
  readonly warns: readonly Expected[];
}

/** Runs every check over the world plus the case's policies and keeps what `check` says. */
function warningsOf(check: CheckId, policies: readonly NetworkPolicy[]) {
  return lint(snapshotOf({ namespaces, pods, policies })).filter((w) => w.check === check);
}

function table(check: CheckId, cases: readonly Case[]): void {
  describe(check, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
      const expected = c.warns.map((w) => ({
        field: w.field,
        message: expect.stringContaining(w.says ?? ''),
        fix: expect.stringContaining(w.fix ?? ''),
      }));
      expect(warningsOf(check, c.policies).map(({ field, message, fix }) => ({ field, message, fix }))).toEqual(expected);
    });
  });
}

const sel = (labels: Record<string, string>) => selector(labels);
const fromPods = (labels: Record<string, string>) => podPeer({ podSelector: sel(labels) });
const fromNamespaces = (labels: Record<string, string>) => podPeer({ namespaceSelector: sel(labels) });

table('selector-matches-nothing', [
  {
    name: "the seed's typo in the policy's podSelector value: did you mean",
    policies: [policy('prod/p', { podSelector: sel({ app: 'fronted' }), ingress: [rule()] })],
    warns: [{ field: 'spec.podSelector.matchLabels.app', says: 'did you mean app: frontend?', fix: 'change it to app: frontend' }],
  },
  {
    name: 'a typo in the key',
    policies: [policy('prod/p', { podSelector: sel({ ap: 'frontend' }) })],
    warns: [{ field: 'spec.podSelector.matchLabels.ap', says: 'did you mean app: frontend?' }],
  },
  {
    name: 'a value far from any: no suggestion, a way to look',
    policies: [policy('prod/p', { podSelector: sel({ app: 'payments' }) })],
    warns: [{ field: 'spec.podSelector.matchLabels.app', says: 'applies to no pod', fix: 'kubectl get pods -n prod --show-labels' }],
  },
  {
    name: 'only the failing term of several is blamed',
    policies: [policy('prod/p', { podSelector: sel({ tier: 'web', app: 'frontnd' }) })],
    warns: [{ field: 'spec.podSelector.matchLabels.app', says: 'app: frontend' }],
  },
  {
    name: 'every term matches some pod, never one pod: the selector as a whole',
    policies: [policy('prod/p', { podSelector: sel({ app: 'frontend', tier: 'api' }) })],
    warns: [{ field: 'spec.podSelector', says: 'none has all of these labels together' }],
  },
  {
    name: 'a matchExpressions In with a typo',
    policies: [policy('prod/p', { podSelector: selector({}, [expression('app', 'In', ['frontent', 'nothing'])]) })],
    warns: [{ field: 'spec.podSelector.matchExpressions[0]', says: 'did you mean app in (frontend)?' }],
  },
  {
    name: 'a namespace without pods',
    policies: [policy('monitoring/p', { podSelector: everything() })],
    warns: [{ field: 'spec.podSelector', says: 'there is no pod in namespace monitoring' }],
  },
  {
    name: 'hostNetwork pods are never selected',
    policies: [policy('kube-system/p', { podSelector: sel({ app: 'node-agent' }) })],
    warns: [{ field: 'spec.podSelector.matchLabels.app', says: 'matches no pod in namespace kube-system' }],
  },
  {
    name: "a peer's podSelector typo",
    policies: [policy('prod/p', { podSelector: sel({ app: 'db' }), ingress: [rule([fromPods({ app: 'db' }), fromPods({ app: 'backnd' })])] })],
    warns: [{ field: 'spec.ingress[0].from[1].podSelector.matchLabels.app', says: 'this peer admits nobody; did you mean app: backend?' }],
  },
  {
    name: "an egress peer's podSelector, looked for in the namespaces it selects",
    policies: [
      policy('prod/p', {
        podSelector: sel({ app: 'db' }),
        egress: [rule([podPeer({ namespaceSelector: sel({ env: 'dev' }), podSelector: sel({ app: 'frontend' }) })])],
      }),
    ],
    warns: [{ field: 'spec.egress[0].to[0].podSelector.matchLabels.app', says: 'matches no pod in namespaces dev' }],
  },
  {
    name: "a peer's namespaceSelector value typo",
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ env: 'prd' })])] })],
    warns: [{ field: 'spec.ingress[0].from[0].namespaceSelector.matchLabels.env', says: 'did you mean env: prod?' }],
  },
  {
    name: 'a namespaceSelector that selects only namespaces without pods',
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ 'kubernetes.io/metadata.name': 'monitoring' })])] })],
    warns: [{ field: 'spec.ingress[0].from[0].namespaceSelector', says: 'the namespaces this namespaceSelector selects (monitoring) have no pods in the snapshot' }],
  },
  {
    name: 'near: the right labels',
    policies: [policy('prod/p', { podSelector: sel({ app: 'frontend' }), ingress: [rule([fromPods({ app: 'backend' })])] })],
    warns: [],
  },
  {
    name: 'near: {} in a namespace with pods, and a peer across namespaces that matches',
    policies: [policy('prod/p', { ingress: [rule([podPeer({ namespaceSelector: sel({ env: 'dev' }), podSelector: sel({ app: 'tool' }) })])] })],
    warns: [],
  },
  {
    name: 'near: a NotIn that leaves some pod',
    policies: [policy('prod/p', { podSelector: selector({}, [expression('app', 'NotIn', ['frontend', 'backend'])]) })],
    warns: [],
  },
  {
    name: 'near: ignored rules (policyTypes leaves egress out) are reported by egress-rules-ignored only',
    policies: [policy('prod/p', { policyTypes: ['ingress'], egress: [rule([fromPods({ app: 'backnd' })])] })],
    warns: [],
  },
  {
    name: 'near: an invalid policy is reported by invalid-policy only',
    policies: [
      policy('prod/p', {
        podSelector: sel({ app: 'fronted' }),
        errors: [{ object: 'NetworkPolicy prod/p', field: 'spec.ingress[0].ports[0].port', message: 'Invalid value: 0' }],
      }),
    ],
    warns: [],
  },
]);

table('and-or-trap', [
  {
    name: 'the classic indentation mistake: - namespaceSelector, - podSelector',
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ team: 'a' }), fromPods({ app: 'frontend' })])] })],
    warns: [
      {
        field: 'spec.ingress[0].from[1]',
        says: "from[0] has only namespaceSelector team=a and from[1] only podSelector app=frontend: as two peers they are OR'd, admitting every pod of those namespaces (3 in the snapshot)",
        fix: "drop the '-' before podSelector",
      },
    ],
  },
  {
    name: 'the same, podSelector first',
    policies: [policy('prod/p', { ingress: [rule([fromPods({ app: 'frontend' }), fromNamespaces({ env: 'dev' })])] })],
    warns: [{ field: 'spec.ingress[0].from[0]', says: 'from[1] has only namespaceSelector env=dev and from[0] only podSelector' }],
  },
  {
    name: 'in an egress list, with namespaceSelector {}',
    policies: [policy('prod/p', { egress: [rule([podPeer({ namespaceSelector: everything() }), fromPods({ app: 'db' })])] })],
    warns: [{ field: 'spec.egress[0].to[1]', says: 'to[0] has only namespaceSelector {}' }],
  },
  {
    name: 'near: seed 003\'s "common mistake" block, two peers each with both selectors, is correct OR',
    policies: [
      policy('prod/p', {
        ingress: [
          rule([
            podPeer({ namespaceSelector: sel({ env: 'prod' }), podSelector: sel({ app: 'frontend' }) }),
            podPeer({ namespaceSelector: sel({ env: 'dev' }), podSelector: sel({ app: 'tool' }) }),
          ]),
        ],
      }),
    ],
    warns: [],
  },
  {
    name: 'near: one peer with both selectors (AND)',
    policies: [policy('prod/p', { ingress: [rule([podPeer({ namespaceSelector: sel({ team: 'a' }), podSelector: sel({ app: 'frontend' }) })])] })],
    warns: [],
  },
  {
    name: 'near: namespace-only beside an ipBlock, and podSelector-only peers together',
    policies: [
      policy('prod/p', {
        ingress: [rule([fromNamespaces({ env: 'dev' }), ipBlockPeer('192.0.2.0/24')]), rule([fromPods({ app: 'frontend' }), fromPods({ app: 'db' })])],
      }),
    ],
    warns: [],
  },
  {
    name: 'near: the two halves in separate rules',
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ env: 'dev' })]), rule([fromPods({ app: 'frontend' })])] })],
    warns: [],
  },
]);

table('egress-rules-ignored', [
  {
    name: 'egress rules under policyTypes [Ingress]',
    policies: [policy('prod/p', { policyTypes: ['ingress'], egress: [rule([fromPods({ app: 'db' })]), rule()] })],
    warns: [{ field: 'spec.egress', says: 'spec.egress has 2 rules but policyTypes [Ingress] leaves out Egress, so they are ignored', fix: 'add Egress to spec.policyTypes' }],
  },
  {
    name: 'near: policyTypes defaulted from the rules',
    policies: [policy('prod/p', { egress: [rule()] })],
    warns: [],
  },
  {
    name: 'near: both given',
    policies: [policy('prod/p', { policyTypes: ['ingress', 'egress'], egress: [rule()] })],
    warns: [],
  },
]);

table('ingress-rules-ignored', [
  {
    name: 'ingress rules under policyTypes [Egress]',
    policies: [policy('prod/p', { policyTypes: ['egress'], ingress: [rule()], egress: [rule()] })],
    warns: [{ field: 'spec.ingress', says: 'policyTypes [Egress] leaves out Ingress, so it is ignored', fix: 'add Ingress to spec.policyTypes' }],
  },
  {
    name: 'near: an Egress-only default deny without ingress rules',
    policies: [policy('prod/p', { policyTypes: ['egress'] })],
    warns: [],
  },
]);

const denyAllEgress = (ns: string) => policy(`${ns}/deny-egress`, { policyTypes: ['egress'] });
const allowDns = (ns: string) =>
  policy(`${ns}/allow-dns`, {
    policyTypes: ['egress'],
    egress: [
      rule(
        [podPeer({ namespaceSelector: sel({ 'kubernetes.io/metadata.name': 'kube-system' }), podSelector: sel({ 'k8s-app': 'kube-dns' }) })],
        [port(53, 'UDP'), port(53, 'TCP')],
      ),
    ],
  });

table('egress-left-open', [
  {
    name: "the seed's Mistake 2: podSelector {} with ingress rules and no policyTypes",
    policies: [policy('prod/p', { ingress: [rule([fromPods({ app: 'frontend' })])] })],
    warns: [{ field: 'spec.policyTypes', says: 'egress stays open: no policy isolates 3 pods (prod/backend, prod/db, prod/frontend) for egress', fix: 'policyTypes: [Ingress, Egress]' }],
  },
  {
    name: 'the same from manifests, where the missing policyTypes is known',
    policies: [{ ...policy('prod/p', { ingress: [rule([fromPods({ app: 'frontend' })])] }), policyTypesDefaulted: true }],
    warns: [{ field: 'spec.policyTypes', says: 'no policyTypes: it defaults to Ingress only, so egress stays open' }],
  },
  {
    name: 'near: policyTypes: [Ingress] written by the author is a choice',
    policies: [{ ...policy('prod/p', { ingress: [rule([fromPods({ app: 'frontend' })])] }), policyTypesDefaulted: false }],
    warns: [],
  },
  {
    name: 'near: a policy aimed at some pods reads as ingress-only on purpose, even with no egress policy around',
    policies: [policy('prod/p', { podSelector: sel({ app: 'db' }), ingress: [rule([fromPods({ app: 'backend' })])] })],
    warns: [],
  },
  {
    name: 'podSelector {} while another policy isolates only db for egress: the rest are named',
    policies: [
      policy('prod/p', { ingress: [rule([fromPods({ app: 'frontend' })])] }),
      policy('prod/db-egress', { podSelector: sel({ app: 'db' }), policyTypes: ['egress'], egress: [rule([], [port(53, 'UDP'), port(53, 'TCP')])] }),
    ],
    warns: [{ field: 'spec.policyTypes', says: '2 pods (prod/backend, prod/frontend)' }],
  },
  {
    name: 'near: a namespace default-deny egress isolates them all',
    policies: [policy('prod/p', { ingress: [rule([fromPods({ app: 'frontend' })])] }), denyAllEgress('prod'), allowDns('prod')],
    warns: [],
  },
  {
    name: 'near: a scoped ingress policy in a namespace that does control egress',
    policies: [
      policy('prod/p', { podSelector: sel({ app: 'frontend' }), ingress: [rule([fromPods({ app: 'backend' })])] }),
      policy('prod/db-egress', { podSelector: sel({ app: 'db' }), policyTypes: ['egress'], egress: [rule([], [port(53, 'UDP'), port(53, 'TCP')])] }),
    ],
    warns: [],
  },
  {
    name: 'near: a deny-all ingress (no ingress rules) only means ingress',
    policies: [policy('prod/p', { policyTypes: ['ingress'] })],
    warns: [],
  },
  {
    name: 'near: both directions given',
    policies: [policy('prod/p', { policyTypes: ['ingress', 'egress'], ingress: [rule()], egress: [rule()] })],
    warns: [],
  },
]);

table('dns-blocked', [
  {
    name: 'a default-deny egress and nothing else',
    policies: [denyAllEgress('prod')],
    warns: [{ field: 'spec.egress', says: 'isolates 3 pods (prod/backend, prod/db, prod/frontend) for egress, and no egress rule of the policies isolating them admits DNS (UDP/53, TCP/53)', fix: 'UDP 53 and TCP 53' }],
  },
  {
    name: 'UDP only: TCP fallback for large answers fails',
    policies: [policy('prod/p', { podSelector: sel({ app: 'db' }), egress: [rule([fromNamespaces({ 'kubernetes.io/metadata.name': 'kube-system' })], [port(53, 'UDP')])] })],
    warns: [{ field: 'spec.egress', says: '1 pod (prod/db) for egress, and no egress rule of the policies isolating them admits UDP/53 but not TCP/53' }],
  },
  {
    name: 'egress to the database port only',
    policies: [policy('prod/p', { podSelector: sel({ app: 'backend' }), egress: [rule([fromPods({ app: 'db' })], [port(5432)])] })],
    warns: [{ field: 'spec.egress', says: 'prod/backend' }],
  },
  {
    name: 'a named port resolves only against the pods the rule reaches: dns is UDP on coredns, TCP is missing',
    policies: [policy('prod/p', { podSelector: sel({ app: 'db' }), egress: [rule([fromNamespaces({ 'kubernetes.io/metadata.name': 'kube-system' })], [port('dns', 'UDP')])] })],
    warns: [{ field: 'spec.egress', says: 'not TCP/53' }],
  },
  {
    name: 'one warning per policy isolating the pods',
    policies: [denyAllEgress('prod'), policy('prod/db-out', { podSelector: sel({ app: 'db' }), egress: [rule([fromPods({ app: 'backend' })], [port(8000)])] })],
    warns: [
      { field: 'spec.egress', says: '1 pod (prod/db)' },
      { field: 'spec.egress', says: '3 pods' },
    ],
  },
  {
    name: 'near: default-deny plus an allow-dns policy for the namespace',
    policies: [denyAllEgress('prod'), allowDns('prod')],
    warns: [],
  },
  {
    name: 'near: named ports dns and dns-tcp declared by coredns',
    policies: [
      policy('prod/p', {
        podSelector: sel({ app: 'db' }),
        egress: [rule([fromNamespaces({ 'kubernetes.io/metadata.name': 'kube-system' })], [port('dns', 'UDP'), port('dns-tcp', 'TCP')])],
      }),
    ],
    warns: [],
  },
  {
    name: 'near: every port to 0.0.0.0/0, and a range with a protocol-wide entry',
    policies: [
      policy('prod/p', { podSelector: sel({ app: 'db' }), egress: [rule([ipBlockPeer('0.0.0.0/0')])] }),
      policy('prod/q', { podSelector: sel({ app: 'backend' }), egress: [rule([], [port(1, 'TCP', 1024), anyPort('UDP')])] }),
    ],
    warns: [],
  },
  {
    name: 'port 53 allowed, but only towards a namespace without the cluster DNS pods: judged by the verdict, DNS is blocked',
    policies: [policy('prod/p', { podSelector: sel({ app: 'db' }), egress: [rule([fromNamespaces({ 'kubernetes.io/metadata.name': 'dns' })], [port(53, 'UDP'), port(53, 'TCP')])] })],
    warns: [{ field: 'spec.egress', says: '1 pod (prod/db)' }],
  },
  {
    name: 'near: ingress-only, and an egress policy that selects no pod',
    policies: [policy('prod/p', { policyTypes: ['ingress'] }), policy('prod/q', { podSelector: sel({ app: 'none' }), policyTypes: ['egress'] })],
    warns: [],
  },
]);

table('namespace-label-missing', [
  {
    name: "the seed's name: kube-system, on a namespace that exists",
    policies: [policy('prod/p', { egress: [rule([fromNamespaces({ name: 'kube-system' })], [port(53, 'UDP')])] })],
    warns: [
      {
        field: 'spec.egress[0].to[0].namespaceSelector.matchLabels.name',
        says: 'no namespace has the label name, so namespaceSelector term name=kube-system selects no namespace',
        fix: 'kubernetes.io/metadata.name: kube-system',
      },
    ],
  },
  {
    name: 'a value that is no namespace: label them',
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ name: 'ingress-nginx' })])] })],
    warns: [{ field: 'spec.ingress[0].from[0].namespaceSelector.matchLabels.name', fix: 'kubectl label namespace NAME name=VALUE' }],
  },
  {
    name: '"every namespace but kube-system" on a missing label excludes nothing',
    policies: [policy('prod/p', { ingress: [rule([podPeer({ namespaceSelector: selector({}, [expression('name', 'NotIn', ['kube-system'])]) })])] })],
    warns: [
      {
        field: 'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0]',
        says: 'holds for every namespace and excludes none',
        fix: 'kubernetes.io/metadata.name NotIn [kube-system]',
      },
    ],
  },
  {
    name: 'a near key: did you mean',
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ emv: 'dev' })])] })],
    warns: [{ field: 'spec.ingress[0].from[0].namespaceSelector.matchLabels.emv', says: 'did you mean env?', fix: 'change the key to env' }],
  },
  {
    name: 'near: the label the API server sets',
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ 'kubernetes.io/metadata.name': 'kube-system' })])] })],
    warns: [],
  },
  {
    name: 'near: a label namespaces carry, with a value none has (selector-matches-nothing says that)',
    policies: [policy('prod/p', { ingress: [rule([fromNamespaces({ env: 'staging' })])] })],
    warns: [],
  },
]);

table('named-port-undeclared', [
  {
    name: 'an ingress named port the selected pods do not declare: did you mean',
    policies: [policy('prod/p', { podSelector: sel({ app: 'frontend' }), ingress: [rule([], [port('htp')])] })],
    warns: [{ field: 'spec.ingress[0].ports[0].port', says: 'named port htp (TCP) is declared by none of the pods this policy selects (1), so this entry admits nothing; did you mean http?', fix: 'change it to http' }],
  },
  {
    name: 'declared under another protocol',
    policies: [policy('prod/p', { podSelector: sel({ app: 'frontend' }), ingress: [rule([], [port(80), port('http', 'UDP')])] })],
    warns: [{ field: 'spec.ingress[0].ports[1].port', says: 'they declare it as TCP', fix: 'set protocol: TCP' }],
  },
  {
    name: 'egress: a name the peer pods do not declare',
    policies: [policy('prod/p', { podSelector: sel({ app: 'frontend' }), egress: [rule([fromPods({ app: 'backend' })], [port('grpc')])] })],
    warns: [{ field: 'spec.egress[0].ports[0].port', says: 'none of the pods this rule reaches (1)', fix: 'spec.containers[].ports[].name' }],
  },
  {
    name: 'egress: a named port towards ipBlocks only',
    policies: [policy('prod/p', { podSelector: sel({ app: 'frontend' }), egress: [rule([ipBlockPeer('52.32.0.0/16')], [port('https')])] })],
    warns: [{ field: 'spec.egress[0].ports[0].port', says: 'peers are all ipBlocks', fix: 'use the port number' }],
  },
  {
    name: 'near: declared by some of the selected pods (db declares none, and need not)',
    policies: [policy('prod/p', { ingress: [rule([], [port('http')])] })],
    warns: [],
  },
  {
    name: 'near: ingress from ipBlocks resolves on the selected pods, which declare it (or which are none: another check)',
    policies: [
      policy('prod/p', { podSelector: sel({ app: 'frontend' }), ingress: [rule([ipBlockPeer('192.0.2.0/24')], [port('http')])] }),
      policy('prod/q', { podSelector: sel({ app: 'nothing' }), ingress: [rule([ipBlockPeer('192.0.2.0/24')], [port('http')])] }),
    ],
    warns: [],
  },
  {
    name: 'near: egress named ports declared by the DNS pods',
    policies: [policy('prod/p', { egress: [rule([fromNamespaces({ 'kubernetes.io/metadata.name': 'kube-system' })], [port('dns', 'UDP')])] })],
    warns: [],
  },
  {
    name: 'near: a peer that matches nothing (selector-matches-nothing says so), and a numeric port',
    policies: [policy('prod/p', { egress: [rule([fromPods({ app: 'nothing' })], [port('http')]), rule([ipBlockPeer('52.32.0.0/16')], [port(443)])] })],
    warns: [],
  },
]);

table('ipblock-covers-pods', [
  {
    name: 'egress to the pod network',
    policies: [policy('prod/p', { egress: [rule([ipBlockPeer('10.244.0.0/16')])] })],
    warns: [{ field: 'spec.egress[0].to[0].ipBlock', says: 'ipBlock 10.244.0.0/16 holds the addresses of 5 pods (dev/tool, kube-system/coredns, prod/backend and 2 more)', fix: 'podSelector/namespaceSelector' }],
  },
  {
    name: 'ingress from a slice of it, except one address',
    policies: [policy('prod/p', { ingress: [rule([fromPods({ app: 'db' }), ipBlockPeer('10.244.1.0/24', ['10.244.1.12/32'])])] })],
    warns: [{ field: 'spec.ingress[0].from[1].ipBlock', says: '2 pods (prod/backend, prod/frontend)' }],
  },
  {
    name: 'near: the internet less the pod network (the node agent is hostNetwork: a node address)',
    policies: [policy('prod/p', { egress: [rule([ipBlockPeer('0.0.0.0/0', ['10.244.0.0/16'])])] })],
    warns: [],
  },
  {
    name: 'near: the node network, and an external host',
    policies: [policy('prod/p', { egress: [rule([ipBlockPeer('172.18.0.0/16'), ipBlockPeer('52.32.123.45/32')])] })],
    warns: [],
  },
]);

table('invalid-policy', [
  {
    name: 'one warning per validation error, at its field',
    policies: [
      policy('prod/p', {
        ingress: [rule([fromPods({ app: 'fronted' })])],
        errors: [
          { object: 'NetworkPolicy prod/p', field: 'spec.ingress[0].ports[0].port', message: 'Invalid value: 0: must be between 1 and 65535, inclusive' },
          { object: 'NetworkPolicy prod/p', field: 'spec.ingress[0].from[0].ipBlock.cidr', message: 'Required value' },
        ],
      }),
    ],
    warns: [
      { field: 'spec.ingress[0].from[0].ipBlock.cidr', says: 'Required value; the policy allows nothing until fixed, yet isolates 3 pods (prod/backend, prod/db, prod/frontend) for Ingress (fail closed)' },
      { field: 'spec.ingress[0].ports[0].port', says: 'must be between 1 and 65535', fix: 'correct spec.ingress[0].ports[0].port' },
    ],
  },
  {
    name: 'near: a valid policy',
    policies: [policy('prod/p', { ingress: [rule([fromPods({ app: 'frontend' })])] })],
    warns: [],
  },
]);
