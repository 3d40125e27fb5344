// The compiler against the real nft, in throwaway netns.
// - Golden plans and transactions for the seed demos: the full transaction must apply, and the diff from the
//   previous demo, applied on top of it, must leave exactly the ruleset a fresh full apply gives.
//   Regenerate with UPDATE_GOLDEN=1.
// - Random cluster histories: every diff between successive random clusters applies and lands on the same
//   ruleset as a full apply.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompileResult,
  type NftTransaction,
  type Plan,
  type PodBinding,
  type UnknownLocalPodsOption,
  compilePlan,
  diffPlans,
  fullTransaction,
} from '../../src/compile/index.js';
import type { NetworkPolicy, Peer, PolicyPort, Pod } from '../../src/model/types.js';
import {
  anyPort,
  containerPort,
  everything,
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

const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden', 'compile');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const NODE = 'node-a';

const namespaces = [
  namespace('prod', { team: 'shop' }),
  namespace('dev', { team: 'shop' }),
  namespace('kube-system'),
  namespace('monitoring'),
];

const pods = [
  pod('prod/frontend-1', { labels: { app: 'frontend' }, ips: ['10.244.1.10', 'fd00:10:244:1::a'], nodeName: NODE }),
  pod('prod/backend-1', {
    labels: { app: 'backend' },
    ips: ['10.244.1.11', 'fd00:10:244:1::b'],
    nodeName: NODE,
    ports: [containerPort(8080, 'http'), containerPort(9090, 'metrics')],
  }),
  pod('prod/backend-2', {
    labels: { app: 'backend' },
    ips: ['10.244.2.11', 'fd00:10:244:2::b'],
    nodeName: 'node-b',
    ports: [containerPort(8081, 'http'), containerPort(9090, 'metrics')],
  }),
  pod('prod/db-1', { labels: { app: 'db' }, ips: ['10.244.2.20'], nodeName: 'node-b', ports: [containerPort(3306, 'mysql')] }),
  pod('dev/tester', { labels: { app: 'tester' }, ips: ['10.244.1.30'], nodeName: NODE }),
  pod('kube-system/coredns-1', {
    labels: { 'k8s-app': 'kube-dns' },
    ips: ['10.244.2.53', 'fd00:10:244:2::35'],
    nodeName: 'node-b',
    ports: [containerPort(53, 'dns', 'UDP'), containerPort(53, 'dns-tcp', 'TCP')],
  }),
  pod('kube-system/kube-proxy-a', { labels: { app: 'kube-proxy' }, ips: ['192.168.0.10'], nodeName: NODE, hostNetwork: true }),
  pod('monitoring/prometheus', { labels: { app: 'prometheus' }, ips: ['10.244.2.90'], nodeName: 'node-b' }),
];

// dev/tester has no binding: it shows up as unbound.
const bindings: PodBinding[] = [
  { namespace: 'prod', name: 'frontend-1', hostIfname: 'veth0a1b2c3d', ips: ['10.244.1.10', 'fd00:10:244:1::a'] },
  { namespace: 'prod', name: 'backend-1', hostIfname: 'veth4e5f6a7b', ips: ['10.244.1.11', 'fd00:10:244:1::b'] },
];

const app = (name: string) => selector({ app: name });
const named = (name: string) => selector({ 'kubernetes.io/metadata.name': name });

interface Demo {
  readonly name: string;
  readonly policies: readonly NetworkPolicy[];
  readonly unknownLocalPods?: UnknownLocalPodsOption;
}

// In order: each demo's diff is taken from the one before it.
const demos: Demo[] = [
  { name: 'no-policies', policies: [] },
  {
    name: 'frontend-to-backend',
    policies: [policy('prod/allow-frontend', { podSelector: app('backend'), ingress: [rule([podPeer({ podSelector: app('frontend') })], [port(8080)])] })],
  },
  { name: 'deny-all-ingress', policies: [policy('prod/deny-all-ingress', { podSelector: everything(), policyTypes: ['ingress'] })] },
  { name: 'deny-all-egress', policies: [policy('prod/deny-all-egress', { podSelector: everything(), policyTypes: ['egress'] })] },
  {
    name: 'default-deny-with-dns',
    policies: [
      policy('prod/default-deny', { podSelector: everything(), policyTypes: ['ingress', 'egress'] }),
      policy('prod/allow-dns', {
        podSelector: everything(),
        policyTypes: ['egress'],
        egress: [
          rule([podPeer({ namespaceSelector: named('kube-system'), podSelector: selector({ 'k8s-app': 'kube-dns' }) })], [port(53, 'UDP'), port(53, 'TCP')]),
        ],
      }),
    ],
  },
  {
    name: 'namespace-isolation',
    policies: [
      policy('prod/same-namespace', { podSelector: everything(), ingress: [rule([podPeer({ namespaceSelector: named('prod') })])] }),
      policy('dev/from-monitoring', { podSelector: everything(), ingress: [rule([podPeer({ namespaceSelector: named('monitoring') })])] }),
    ],
  },
  {
    name: 'ipblock-egress-with-except',
    policies: [
      policy('prod/egress-cidr', {
        podSelector: app('frontend'),
        policyTypes: ['egress'],
        egress: [rule([ipBlockPeer('10.0.0.0/8', ['10.244.0.0/16', '10.96.0.0/12'])], [port(443)])],
      }),
    ],
  },
  {
    name: 'egress-to-db-3306',
    policies: [
      policy('prod/backend-to-db', {
        podSelector: app('backend'),
        policyTypes: ['egress'],
        egress: [rule([podPeer({ podSelector: app('db') })], [port(3306)])],
      }),
    ],
  },
  {
    name: 'ingress-and-egress',
    policies: [
      policy('prod/backend-both', {
        podSelector: app('backend'),
        policyTypes: ['ingress', 'egress'],
        ingress: [rule([podPeer({ podSelector: app('frontend') })], [port(8080)])],
        egress: [rule([podPeer({ podSelector: app('db') })], [port(3306)])],
      }),
    ],
  },
  {
    name: 'multi-port',
    policies: [
      policy('prod/multi-port', {
        podSelector: app('backend'),
        ingress: [rule([podPeer({ podSelector: app('frontend') })], [port(8080), port(9090), port(5353, 'UDP'), port(8080)])],
      }),
    ],
  },
  {
    name: 'named-ports',
    policies: [
      policy('prod/named-ingress', {
        podSelector: app('backend'),
        ingress: [rule([podPeer({ podSelector: app('frontend') })], [port('http'), port('grpc')])],
      }),
      policy('prod/named-egress', {
        podSelector: app('frontend'),
        policyTypes: ['egress'],
        egress: [rule([podPeer({ podSelector: app('backend') })], [port('http'), port(9090)])],
      }),
    ],
  },
  {
    name: 'end-port',
    policies: [
      policy('prod/port-range', {
        podSelector: app('backend'),
        ingress: [rule([podPeer({ podSelector: app('frontend') })], [port(32000, 'TCP', 32768), port(32100), port(40000, 'UDP', 40010)])],
      }),
    ],
  },
  {
    name: 'sctp',
    policies: [
      policy('prod/sctp', {
        podSelector: app('backend'),
        ingress: [rule([podPeer({ podSelector: app('frontend') })], [port(9999, 'SCTP'), port(7000, 'SCTP', 7010)]), rule([], [anyPort('SCTP')])],
      }),
    ],
  },
  {
    name: 'ipv6',
    policies: [
      policy('prod/ipv6', {
        podSelector: app('frontend'),
        policyTypes: ['ingress', 'egress'],
        ingress: [rule([ipBlockPeer('fd00:10:244::/48', ['fd00:10:244:2::/64'])], [port(8080)])],
        egress: [rule([ipBlockPeer('fd00:10:244::/48'), podPeer({ namespaceSelector: named('kube-system') })], [port(53, 'UDP')])],
      }),
    ],
  },
  {
    // Addresses of node-a's pod CIDRs that no known local pod holds are dropped both ways; dev/tester (known,
    // not isolated) still passes, and the bridge gateway 10.244.1.1 is let through.
    name: 'unknown-local-pods',
    policies: [policy('prod/allow-frontend', { podSelector: app('backend'), ingress: [rule([podPeer({ podSelector: app('frontend') })], [port(8080)])] })],
    unknownLocalPods: { podCidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] },
  },
];

function compileDemo(demo: Demo): CompileResult {
  return compilePlan(snapshotOf({ namespaces, pods, policies: demo.policies }), {
    nodeName: NODE,
    bindings,
    ...(demo.unknownLocalPods ? { unknownLocalPods: demo.unknownLocalPods } : {}),
  });
}

// --- nft in throwaway network namespaces -------------------------------------------------------------------

const netnsNames: string[] = [];
let workDir = '';

function createNetns(): string {
  const name = `bhc-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  netnsNames.push(name);
  return name;
}

function nft(netns: string, args: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function apply(netns: string, tx: NftTransaction, label: string): void {
  const file = join(workDir, `${label}.json`);
  writeFileSync(file, JSON.stringify(tx));
  nft(netns, ['-j', '-c', '-f', file]);
  nft(netns, ['-j', '-f', file]);
}

/** The tables as nft holds them, without handles, objects and elements sorted: comparable across histories. */
function listing(netns: string): unknown[] {
  const tables = ['inet bulkhead', 'bridge bulkhead'].flatMap((table) => {
    const parsed = JSON.parse(nft(netns, ['-j', 'list', 'table', ...table.split(' ')])) as { nftables: Record<string, unknown>[] };
    return parsed.nftables.filter((entry) => !('metainfo' in entry));
  });
  const normalized = tables.map((entry) => {
    const [kind, body] = Object.entries(entry)[0] as [string, Record<string, unknown>];
    const { handle: _handle, ...rest } = body;
    if (Array.isArray(rest.elem)) rest.elem = rest.elem.map((e) => JSON.stringify(e)).sort();
    return { [kind]: rest };
  });
  // Rules keep their order within a chain; everything else is keyed by kind and name.
  return normalized.sort((a, b) => {
    const key = (x: Record<string, unknown>) => {
      const [kind, body] = Object.entries(x)[0] as [string, Record<string, unknown>];
      return kind === 'rule' ? `rule ${String(body.family)} ${String(body.chain)}` : `${kind} ${String(body.family)} ${String(body.name)}`;
    };
    return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  });
}

/** `nft list` text with each element list sorted, since hash sets list in bucket order. */
function textListing(netns: string): string {
  const text = ['inet', 'bridge'].map((family) => nft(netns, ['list', 'table', family, 'bulkhead'])).join('\n');
  const sortList = (items: string) =>
    items
      .split(',')
      .map((s) => s.trim())
      .sort()
      .join(', ');
  return text
    .replace(/elements = \{([^{}]*)\}/g, (_m, items: string) => `elements = { ${sortList(items)} }`)
    .replace(/\{ ([^{}\n;]*) \}/g, (_m, items: string) => `{ ${sortList(items)} }`);
}

// --- golden files ----------------------------------------------------------------------------------------------

/** JSON pretty-printed, but any value that fits in 120 columns stays on one line. */
function formatJson(value: unknown, indent = ''): string {
  const compact = JSON.stringify(value);
  if (compact.length + indent.length <= 120 || value === null || typeof value !== 'object') return compact;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`);
  return `{\n${entries.join(',\n')}\n${indent}}`;
}

function expectGolden(relative: string, content: string): void {
  const file = join(GOLDEN_DIR, relative);
  if (UPDATE) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`golden file ${relative} is missing: run with UPDATE_GOLDEN=1 to create it`);
  }
  expect(content, `golden ${relative} differs (UPDATE_GOLDEN=1 regenerates)`).toBe(expected);
}

// --- the demos -------------------------------------------------------------------------------------------------

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'bhc-'));
});

afterAll(() => {
  for (const name of netnsNames) execFileSync('ip', ['netns', 'delete', name]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('compiler golden demos, applied with the real nft', () => {
  let fresh = '';
  let incremental = '';
  let previous: Plan | undefined;

  beforeAll(() => {
    fresh = createNetns();
    incremental = createNetns();
  });

  for (const demo of demos) {
    it(`${demo.name}: golden plan and transactions; nft takes them; diff-on-top equals fresh`, () => {
      const result = compileDemo(demo);
      expect(JSON.stringify(compileDemo(demo))).toBe(JSON.stringify(result));

      const full = fullTransaction(result.plan);
      const diff = diffPlans(previous, result.plan);
      expectGolden(`${demo.name}/plan.json`, `${formatJson(result)}\n`);
      expectGolden(`${demo.name}/full-transaction.json`, `${formatJson(full)}\n`);
      expectGolden(`${demo.name}/diff-transaction.json`, `${formatJson(diff)}\n`);

      // The fresh netns already holds the previous demo's tables: the full transaction replaces them whole.
      apply(fresh, full, `${demo.name}-full`);
      expectGolden(`${demo.name}/ruleset.nft`, textListing(fresh));

      apply(incremental, diff, `${demo.name}-diff`);
      expect(listing(incremental)).toEqual(listing(fresh));
      previous = result.plan;
    });
  }
});

// --- random cluster histories ----------------------------------------------------------------------------------

const APPS = ['x', 'y', 'z'] as const;
const NAMESPACES = ['a', 'b'] as const;

const podArbitrary = (index: number) =>
  fc.record({
    namespace: fc.constantFrom(...NAMESPACES),
    app: fc.constantFrom(...APPS),
    local: fc.boolean(),
    dualStack: fc.boolean(),
    httpPort: fc.option(fc.integer({ min: 8000, max: 8003 }), { nil: undefined }),
  }).map(({ namespace: ns, app: label, local, dualStack, httpPort }): Pod =>
    pod(`${ns}/p${index}`, {
      labels: { app: label },
      ips: dualStack ? [`10.1.0.${index + 1}`, `fd00:1::${index + 1}`] : [`10.1.0.${index + 1}`],
      nodeName: local ? NODE : 'node-b',
      ports: httpPort === undefined ? [] : [containerPort(httpPort, 'http')],
    }),
  );

const peerArbitrary: fc.Arbitrary<Peer> = fc.oneof(
  fc.constantFrom(...APPS).map((label) => podPeer({ podSelector: app(label) })),
  fc.tuple(fc.constantFrom(...NAMESPACES), fc.constantFrom(...APPS)).map(([ns, label]) => podPeer({ namespaceSelector: named(ns), podSelector: app(label) })),
  fc.constantFrom(ipBlockPeer('10.1.0.0/24', ['10.1.0.0/28']), ipBlockPeer('10.0.0.0/8'), ipBlockPeer('fd00:1::/64', ['fd00:1::/126'])),
);

const portArbitrary: fc.Arbitrary<PolicyPort> = fc.oneof(
  fc.constantFrom(port(80), port(53, 'UDP'), port(9999, 'SCTP'), port(8000, 'TCP', 8100), port('http'), anyPort('UDP')),
);

const policyArbitrary = (index: number) =>
  fc.record({
    namespace: fc.constantFrom(...NAMESPACES),
    target: fc.option(fc.constantFrom(...APPS), { nil: undefined }),
    ingress: fc.array(fc.record({ peers: fc.array(peerArbitrary, { maxLength: 2 }), ports: fc.array(portArbitrary, { maxLength: 2 }) }), { maxLength: 2 }),
    egress: fc.array(fc.record({ peers: fc.array(peerArbitrary, { maxLength: 2 }), ports: fc.array(portArbitrary, { maxLength: 2 }) }), { maxLength: 2 }),
    egressType: fc.boolean(),
  }).map(({ namespace: ns, target, ingress, egress, egressType }) =>
    policy(`${ns}/n${index}`, {
      podSelector: target === undefined ? everything() : app(target),
      policyTypes: egressType || egress.length > 0 ? ['ingress', 'egress'] : ['ingress'],
      ingress: ingress.map((r) => rule(r.peers, r.ports)),
      egress: egress.map((r) => rule(r.peers, r.ports)),
    }),
  );

/** A cluster: a subset of 8 possible pods and 5 possible policies, so successive states share most objects. */
const clusterArbitrary = fc.tuple(
  fc.tuple(...Array.from({ length: 8 }, (_, i) => fc.option(podArbitrary(i), { nil: undefined }))),
  fc.tuple(...Array.from({ length: 5 }, (_, i) => fc.option(policyArbitrary(i), { nil: undefined }))),
  fc.boolean(),
);

describe('random cluster histories, applied with the real nft', () => {
  it('every diff between successive clusters applies and equals a full apply', () => {
    const fresh = createNetns();
    const incremental = createNetns();
    let step = 0;
    fc.assert(
      fc.property(fc.array(clusterArbitrary, { minLength: 2, maxLength: 4 }), (history) => {
        let applied: Plan | undefined;
        for (const [maybePods, maybePolicies, guardUnknown] of history) {
          const present = maybePods.filter((p): p is Pod => p !== undefined);
          const snapshot = snapshotOf({ namespaces, pods: present, policies: maybePolicies.filter((p): p is NetworkPolicy => p !== undefined) });
          // Every other local pod has its veth recorded, so bindings come and go too.
          const recorded = present
            .filter((p) => p.nodeName === NODE && Number(p.name.slice(1)) % 2 === 0)
            .map((p) => ({ namespace: p.namespace, name: p.name, hostIfname: `veth${p.name}`, ips: p.ips }));
          const { plan } = compilePlan(snapshot, {
            nodeName: NODE,
            bindings: recorded,
            ...(guardUnknown ? { unknownLocalPods: { podCidrs: ['10.1.0.0/24', 'fd00:1::/64'] } } : {}),
          });
          step++;
          apply(incremental, diffPlans(applied, plan), `random-${step}-diff`);
          apply(fresh, fullTransaction(plan), `random-${step}-full`);
          expect(listing(incremental)).toEqual(listing(fresh));
          applied = plan;
        }
      }),
      { numRuns: 25 },
    );
  });
});
