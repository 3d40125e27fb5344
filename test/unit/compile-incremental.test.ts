// The long-lived compiler (createCompiler) against a compile from scratch (compilePlan), over random histories of
// a cluster whose unchanged objects stay the same objects from step to step, as a watch cache keeps them: every
// result must be the same plan, problems and unbound pods, and every diff between successive results the same
// transaction, whatever was patched, kept or rebuilt.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CompileOptions, type Plan, compilePlan, createCompiler, diffPlans } from '../../src/compile/index.js';
import type { NetworkPolicy, Peer, PolicyPort, Pod } from '../../src/model/types.js';
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

const NODE = 'node-a';
const NAMESPACES = ['a', 'b', 'c'] as const;
const APPS = ['x', 'y', 'z'] as const;
const POD_KEYS = 10;
const POLICY_KEYS = 6;

// Two versions of each pod: they differ in labels, ports, node or addresses, as a pod update would. Pods 8 and
// 9 are hostNetwork on node-b with the address of that node (shared), declaring named ports.
const podVersion = (index: number) =>
  fc
    .record({
      app: fc.constantFrom(...APPS),
      tier: fc.constantFrom('web', 'db'),
      local: fc.boolean(),
      dualStack: fc.boolean(),
      http: fc.option(fc.integer({ min: 8000, max: 8002 }), { nil: undefined }),
      // A reused address: two pods briefly holding one IP.
      ipOf: fc.constantFrom(index, index, index, (index + 1) % 8),
    })
    .map(({ app, tier, local, dualStack, http, ipOf }): Pod => {
      // Pod 7 lives in a namespace no Namespace object declares (an implicit one, labelled by its name alone).
      const ns = index === 7 ? 'd' : NAMESPACES[index % NAMESPACES.length]!;
      if (index >= 8) {
        return pod(`${ns}/host${index}`, { labels: { app }, ips: ['192.168.0.2'], nodeName: 'node-b', hostNetwork: true, ports: http === undefined ? [] : [containerPort(http, 'http')] });
      }
      return pod(`${ns}/p${index}`, {
        labels: { app, tier },
        ips: dualStack ? [`10.1.0.${ipOf + 1}`, `fd00:1::${ipOf + 1}`] : [`10.1.0.${ipOf + 1}`],
        nodeName: local ? NODE : 'node-b',
        ports: http === undefined ? [] : [containerPort(http, 'http'), containerPort(9090, 'metrics')],
      });
    });

const peerArbitrary: fc.Arbitrary<Peer> = fc.oneof(
  fc.constantFrom(...APPS).map((app) => podPeer({ podSelector: selector({ app }) })),
  fc.constantFrom(...NAMESPACES).map((ns) => podPeer({ namespaceSelector: selector({ team: ns === 'c' ? 'blue' : 'red' }), podSelector: selector({ tier: 'web' }) })),
  fc.constant(podPeer({ namespaceSelector: everything(), podSelector: selector({}, [expression('app', 'In', ['x', 'y'])]) })),
  fc.constantFrom(ipBlockPeer('10.1.0.0/24', ['10.1.0.0/28']), ipBlockPeer('fd00:1::/64', ['fd00:1::/126'])),
);

const portArbitrary: fc.Arbitrary<PolicyPort> = fc.constantFrom(port(80), port(53, 'UDP'), port(8000, 'TCP', 8100), port('http'), port('metrics'), anyPort('SCTP'));

const policyVersion = (index: number) =>
  fc
    .record({
      target: fc.option(fc.constantFrom(...APPS), { nil: undefined }),
      ingress: fc.array(fc.record({ peers: fc.array(peerArbitrary, { maxLength: 2 }), ports: fc.array(portArbitrary, { maxLength: 2 }) }), { maxLength: 2 }),
      egress: fc.array(fc.record({ peers: fc.array(peerArbitrary, { maxLength: 2 }), ports: fc.array(portArbitrary, { maxLength: 2 }) }), { maxLength: 2 }),
    })
    .map(({ target, ingress, egress }): NetworkPolicy =>
      policy(`${NAMESPACES[index % NAMESPACES.length]}/n${index}`, {
        podSelector: target === undefined ? everything() : selector({ app: target }),
        policyTypes: egress.length > 0 || index % 2 === 0 ? ['ingress', 'egress'] : ['ingress'],
        ingress: ingress.map((r) => rule(r.peers, r.ports)),
        egress: egress.map((r) => rule(r.peers, r.ports)),
      }),
    );

/** Which version of each object is present at a step (undefined: absent), and the step's other inputs. */
const stepArbitrary = fc.record({
  pods: fc.array(fc.constantFrom(undefined, 0, 1, 1), { minLength: POD_KEYS, maxLength: POD_KEYS }),
  policies: fc.array(fc.constantFrom(undefined, 0, 1, 1), { minLength: POLICY_KEYS, maxLength: POLICY_KEYS }),
  namespaceLabels: fc.constantFrom(0, 0, 0, 1),
  bound: fc.boolean(),
  guard: fc.boolean(),
});

const historyArbitrary = fc.record({
  podVersions: fc.tuple(...Array.from({ length: POD_KEYS }, (_, i) => fc.tuple(podVersion(i), podVersion(i)))),
  policyVersions: fc.tuple(...Array.from({ length: POLICY_KEYS }, (_, i) => fc.tuple(policyVersion(i), policyVersion(i)))),
  steps: fc.array(stepArbitrary, { minLength: 2, maxLength: 8 }),
});

describe('incremental compile', () => {
  it('gives what a compile from scratch gives, and the same diffs, over random change histories', () => {
    fc.assert(
      fc.property(historyArbitrary, ({ podVersions, policyVersions, steps }) => {
        const compiler = createCompiler();
        let previous: { incremental: Plan; fresh: Plan } | undefined;
        for (const step of steps) {
          const pods = step.pods.flatMap((version, i) => (version === undefined ? [] : [podVersions[i]![version]]));
          const policies = step.policies.flatMap((version, i) => (version === undefined ? [] : [policyVersions[i]![version]]));
          const namespaces = NAMESPACES.map((name, i) => namespace(name, { team: (i + step.namespaceLabels) % 2 === 0 ? 'red' : 'blue' }));
          const snapshot = snapshotOf({ namespaces, pods, policies });
          const options: CompileOptions = {
            nodeName: NODE,
            bindings: step.bound
              ? pods.filter((p) => p.nodeName === NODE && !p.hostNetwork).map((p) => ({ namespace: p.namespace, name: p.name, hostIfname: `veth${p.name}`, ips: p.ips }))
              : [],
            ...(step.guard ? { unknownLocalPods: { podCidrs: ['10.1.0.0/24'] } } : {}),
          };
          const incremental = compiler.compile(snapshot, options);
          const fresh = compilePlan(snapshot, options);
          expect(JSON.stringify(incremental)).toBe(JSON.stringify(fresh));
          if (previous) {
            expect(JSON.stringify(diffPlans(previous.incremental, incremental.plan))).toBe(JSON.stringify(diffPlans(previous.fresh, fresh.plan)));
          }
          previous = { incremental: incremental.plan, fresh: fresh.plan };
        }
      }),
      { numRuns: 300 },
    );
  });
});
