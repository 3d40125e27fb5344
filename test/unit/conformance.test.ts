// Conformance in the shape of the upstream e2e netpol model: namespaces x, y, z; pods a, b, c; one probe
// (port, protocol) per case and the full 9x9 truth table it must produce, written from the API reference.
import { describe, expect, it } from 'vitest';
import type { NetworkPolicy, Protocol } from '../../src/model/types.js';
import { connectionVerdict } from '../../src/policy/index.js';
import {
  anyPort,
  at,
  connection,
  everything,
  expression,
  ipBlockPeer,
  podPeer,
  policy,
  port,
  rule,
  selector,
} from '../support/builders.js';
import { modelPod, modelPodKeys, modelSnapshot } from '../support/netpolModel.js';
import { Reachability, reachabilityReport } from '../support/reachability.js';

interface ConformanceCase {
  readonly name: string;
  readonly policies: readonly NetworkPolicy[];
  readonly port: number;
  readonly protocol: Protocol;
  readonly expected: Reachability;
}

const NAME_LABEL = 'kubernetes.io/metadata.name';
const podNamed = (name: string) => selector({ pod: name });
const namespaceNamed = (name: string) => selector({ [NAME_LABEL]: name });
const allTrue = () => new Reachability(modelPodKeys, true);
const allFalse = () => new Reachability(modelPodKeys, false);

const denyIngress = (ns: string) => policy(`${ns}/deny-ingress`, { policyTypes: ['ingress'] });
const denyEgress = (ns: string) => policy(`${ns}/deny-egress`, { policyTypes: ['egress'] });
const denyAll = (ns: string) => policy(`${ns}/deny-all`, { policyTypes: ['ingress', 'egress'] });
/** x/a's ingress rules, nothing else. */
const xaIngress = (...rules: ReturnType<typeof rule>[]) => policy('x/a-ingress', { podSelector: podNamed('a'), ingress: rules });
/** x/a's egress rules, nothing else. */
const xaEgress = (...rules: ReturnType<typeof rule>[]) =>
  policy('x/a-egress', { podSelector: podNamed('a'), policyTypes: ['egress'], egress: rules });
/** Only x/a is isolated for ingress; the case says who still reaches it. */
const onlyIntoXa = () => allTrue().expectAllIngress('x/a', false);
const onlyFromXa = () => allTrue().expectAllEgress('x/a', false);

const cases: readonly ConformanceCase[] = [
  // Isolation and defaults.
  { name: 'no policy: every pod reaches every pod', policies: [], port: 80, protocol: 'TCP', expected: allTrue() },
  {
    name: 'default-deny-ingress in x',
    policies: [denyIngress('x')],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({}, { namespace: 'x' }, false).allowLoopback(),
  },
  {
    name: 'default-deny-egress in x',
    policies: [denyEgress('x')],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({ namespace: 'x' }, {}, false).allowLoopback(),
  },
  {
    name: 'default-deny-all in x',
    policies: [denyAll('x')],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({}, { namespace: 'x' }, false).expectPeer({ namespace: 'x' }, {}, false).allowLoopback(),
  },
  {
    name: 'default-deny-all in every namespace',
    policies: [denyAll('x'), denyAll('y'), denyAll('z')],
    port: 81,
    protocol: 'UDP',
    expected: allFalse().allowLoopback(),
  },
  {
    name: 'allow-all ingress (ingress: [{}]) in x',
    policies: [policy('x/allow-all-in', { ingress: [rule()] })],
    port: 80,
    protocol: 'TCP',
    expected: allTrue(),
  },
  {
    name: 'allow-all egress (egress: [{}]) in x',
    policies: [policy('x/allow-all-out', { policyTypes: ['egress'], egress: [rule()] })],
    port: 81,
    protocol: 'SCTP',
    expected: allTrue(),
  },
  {
    name: 'default-deny-ingress plus allow-all ingress: policies are additive',
    policies: [denyIngress('x'), policy('x/allow-all-in', { ingress: [rule()] })],
    port: 80,
    protocol: 'TCP',
    expected: allTrue(),
  },
  {
    name: 'default-deny-all in x, then allow all traffic inside x both ways',
    policies: [
      denyAll('x'),
      policy('x/allow-inside', {
        ingress: [rule([podPeer({ podSelector: everything() })])],
        egress: [rule([podPeer({ podSelector: everything() })])],
      }),
    ],
    port: 80,
    protocol: 'TCP',
    expected: allTrue()
      .expectPeer({}, { namespace: 'x' }, false)
      .expectPeer({ namespace: 'x' }, {}, false)
      .expectPeer({ namespace: 'x' }, { namespace: 'x' }, true),
  },
  {
    name: 'a policy in y isolates only y/a',
    policies: [policy('y/deny-a', { podSelector: podNamed('a') })],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectAllIngress('y/a', false).allowLoopback(),
  },
  {
    name: 'policyTypes [Egress] ignores the ingress rules it carries',
    policies: [policy('x/a-egress-only', { podSelector: podNamed('a'), policyTypes: ['egress'], ingress: [rule([podPeer({ podSelector: podNamed('b') })])] })],
    port: 80,
    protocol: 'TCP',
    expected: onlyFromXa().allowLoopback(),
  },
  {
    name: 'policyTypes [Ingress] ignores the egress rules it carries',
    policies: [policy('x/a-ingress-only', { podSelector: podNamed('a'), policyTypes: ['ingress'], egress: [rule([podPeer({ podSelector: podNamed('b') })])] })],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'an invalid policy isolates x/a and admits nothing, even with rules left',
    policies: [
      policy('x/broken', {
        podSelector: podNamed('a'),
        ingress: [rule()],
        errors: [{ object: 'NetworkPolicy x/broken', field: 'spec.ingress[0].from[0].ipBlock.cidr', message: 'invalid CIDR' }],
      }),
    ],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },

  // Which pods a policy selects.
  {
    name: 'policy podSelector NotIn [a] isolates x/b and x/c',
    policies: [policy('x/deny-not-a', { podSelector: selector({}, [expression('pod', 'NotIn', ['a'])]) })],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectAllIngress('x/b', false).expectAllIngress('x/c', false).allowLoopback(),
  },
  {
    name: 'policy podSelector NotIn on a key no pod has selects every pod',
    policies: [policy('x/deny', { podSelector: selector({}, [expression('tier', 'NotIn', ['db'])]) })],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({}, { namespace: 'x' }, false).allowLoopback(),
  },
  {
    name: 'policy podSelector Exists on a key no pod has selects nothing',
    policies: [policy('x/deny', { podSelector: selector({}, [expression('tier', 'Exists')]) })],
    port: 80,
    protocol: 'TCP',
    expected: allTrue(),
  },

  // Pod and namespace peers.
  {
    name: 'x/a admits x/b by podSelector',
    policies: [xaIngress(rule([podPeer({ podSelector: podNamed('b') })]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expect('x/b', 'x/a', true).allowLoopback(),
  },
  {
    name: 'x/a admits x/b by podSelector matchExpressions In',
    policies: [xaIngress(rule([podPeer({ podSelector: selector({}, [expression('pod', 'In', ['b'])]) })]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expect('x/b', 'x/a', true).allowLoopback(),
  },
  {
    name: 'podSelector {} alone admits the policy namespace only',
    policies: [xaIngress(rule([podPeer({ podSelector: everything() })]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, true),
  },
  {
    name: 'matchLabels must all hold: a second label no pod has admits nobody',
    policies: [xaIngress(rule([podPeer({ podSelector: selector({ pod: 'b', tier: 'web' }) })]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'x/a admits namespace y by its name label',
    policies: [xaIngress(rule([podPeer({ namespaceSelector: namespaceNamed('y') })]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expectPeer({ namespace: 'y' }, { namespace: 'x', pod: 'a' }, true).allowLoopback(),
  },
  {
    name: 'x/a admits namespaces other than x by namespaceSelector NotIn',
    policies: [xaIngress(rule([podPeer({ namespaceSelector: selector({}, [expression(NAME_LABEL, 'NotIn', ['x'])]) })]))],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false).allowLoopback(),
  },
  {
    name: 'x/a admits namespaces y and z by a custom namespace label',
    policies: [xaIngress(rule([podPeer({ namespaceSelector: selector({}, [expression('ns', 'In', ['y', 'z'])]) })]))],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false).allowLoopback(),
  },
  {
    name: 'namespaceSelector {} admits every namespace',
    policies: [xaIngress(rule([podPeer({ namespaceSelector: everything() })]))],
    port: 80,
    protocol: 'TCP',
    expected: allTrue(),
  },
  {
    name: 'a namespaceSelector that matches no namespace admits nobody',
    policies: [xaIngress(rule([podPeer({ namespaceSelector: namespaceNamed('w') })]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'podSelector OR namespaceSelector: two peers',
    policies: [
      xaIngress(
        rule([
          podPeer({ namespaceSelector: selector({}, [expression(NAME_LABEL, 'NotIn', ['x'])]) }),
          podPeer({ podSelector: podNamed('b') }),
        ]),
      ),
    ],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expect('x/c', 'x/a', false),
  },
  {
    name: 'podSelector AND namespaceSelector: one peer',
    policies: [
      xaIngress(
        rule([podPeer({ namespaceSelector: selector({}, [expression(NAME_LABEL, 'NotIn', ['x'])]), podSelector: podNamed('b') })]),
      ),
    ],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expect('y/b', 'x/a', true).expect('z/b', 'x/a', true).allowLoopback(),
  },
  {
    name: 'ANDed peer with matchExpressions on both selectors',
    policies: [
      xaIngress(
        rule([
          podPeer({
            namespaceSelector: selector({}, [expression('ns', 'In', ['y', 'z'])]),
            podSelector: selector({}, [expression('pod', 'In', ['b', 'c'])]),
          }),
        ]),
      ),
    ],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa()
      .expectPeer({ namespace: 'y', pod: 'b' }, { namespace: 'x', pod: 'a' }, true)
      .expectPeer({ namespace: 'y', pod: 'c' }, { namespace: 'x', pod: 'a' }, true)
      .expectPeer({ namespace: 'z', pod: 'b' }, { namespace: 'x', pod: 'a' }, true)
      .expectPeer({ namespace: 'z', pod: 'c' }, { namespace: 'x', pod: 'a' }, true)
      .allowLoopback(),
  },
  {
    name: 'two ANDed peers ORed: y/b or z/c',
    policies: [
      xaIngress(
        rule([
          podPeer({ namespaceSelector: namespaceNamed('y'), podSelector: podNamed('b') }),
          podPeer({ namespaceSelector: namespaceNamed('z'), podSelector: podNamed('c') }),
        ]),
      ),
    ],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expect('y/b', 'x/a', true).expect('z/c', 'x/a', true).allowLoopback(),
  },
  {
    name: 'two policies on x/a are unioned: x/b by one, namespace z by the other',
    policies: [
      policy('x/a-from-b', { podSelector: podNamed('a'), ingress: [rule([podPeer({ podSelector: podNamed('b') })])] }),
      policy('x/a-from-z', { podSelector: podNamed('a'), ingress: [rule([podPeer({ namespaceSelector: namespaceNamed('z') })])] }),
    ],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expect('x/b', 'x/a', true).expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, true).allowLoopback(),
  },

  // Ports and protocols.
  ...(() => {
    const xaOn80 = [denyIngress('x'), xaIngress(rule([], [port(80)]))];
    const xIsolated = () => allTrue().expectPeer({}, { namespace: 'x' }, false);
    return [
      { name: 'x isolated, x/a open on TCP 80: probe 80/TCP', policies: xaOn80, port: 80, protocol: 'TCP', expected: xIsolated().expectAllIngress('x/a', true).allowLoopback() },
      { name: 'x isolated, x/a open on TCP 80: probe 81/TCP', policies: xaOn80, port: 81, protocol: 'TCP', expected: xIsolated().allowLoopback() },
      { name: 'x isolated, x/a open on TCP 80: probe 80/UDP', policies: xaOn80, port: 80, protocol: 'UDP', expected: xIsolated().allowLoopback() },
    ] satisfies ConformanceCase[];
  })(),
  {
    name: 'named port serve-80-tcp: probe 80/TCP',
    policies: [xaIngress(rule([], [port('serve-80-tcp')]))],
    port: 80,
    protocol: 'TCP',
    expected: allTrue(),
  },
  {
    name: 'named port serve-80-tcp: probe 81/TCP',
    policies: [xaIngress(rule([], [port('serve-80-tcp')]))],
    port: 81,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'named port serve-81-udp: probe 81/UDP',
    policies: [xaIngress(rule([], [port('serve-81-udp', 'UDP')]))],
    port: 81,
    protocol: 'UDP',
    expected: allTrue(),
  },
  {
    name: 'named port serve-81-udp asked for on TCP resolves to nothing',
    policies: [xaIngress(rule([], [port('serve-81-udp', 'TCP')]))],
    port: 81,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'endPort 80-81 admits 81/TCP',
    policies: [xaIngress(rule([], [port(80, 'TCP', 81)]))],
    port: 81,
    protocol: 'TCP',
    expected: allTrue(),
  },
  {
    name: 'endPort 81-90 does not admit 80/TCP',
    policies: [xaIngress(rule([], [port(81, 'TCP', 90)]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'SCTP port 80 admits 80/SCTP',
    policies: [xaIngress(rule([], [port(80, 'SCTP')]))],
    port: 80,
    protocol: 'SCTP',
    expected: allTrue(),
  },
  {
    name: 'SCTP port 80 does not admit 80/TCP',
    policies: [xaIngress(rule([], [port(80, 'SCTP')]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'protocol UDP without a port admits 81/UDP',
    policies: [xaIngress(rule([], [anyPort('UDP')]))],
    port: 81,
    protocol: 'UDP',
    expected: allTrue(),
  },
  {
    name: 'two rules, two ports: probe 80 admits only the first rule peer',
    policies: [xaIngress(rule([podPeer({ podSelector: podNamed('b') })], [port(80)]), rule([podPeer({ podSelector: podNamed('c') })], [port(81)]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expect('x/b', 'x/a', true).allowLoopback(),
  },
  {
    name: 'two rules, two ports: probe 81 admits only the second rule peer',
    policies: [xaIngress(rule([podPeer({ podSelector: podNamed('b') })], [port(80)]), rule([podPeer({ podSelector: podNamed('c') })], [port(81)]))],
    port: 81,
    protocol: 'TCP',
    expected: onlyIntoXa().expect('x/c', 'x/a', true).allowLoopback(),
  },
  {
    name: 'peers and ports of one rule are ANDed: namespace y on 81/UDP',
    policies: [xaIngress(rule([podPeer({ namespaceSelector: namespaceNamed('y') })], [port(81, 'UDP')]))],
    port: 81,
    protocol: 'UDP',
    expected: onlyIntoXa().expectPeer({ namespace: 'y' }, { namespace: 'x', pod: 'a' }, true).allowLoopback(),
  },

  // Egress.
  {
    name: 'x/a egress only to pods b of any namespace',
    policies: [xaEgress(rule([podPeer({ namespaceSelector: everything(), podSelector: podNamed('b') })]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyFromXa().expectPeer({ namespace: 'x', pod: 'a' }, { pod: 'b' }, true).allowLoopback(),
  },
  {
    name: 'x/a egress to named port serve-81-tcp anywhere: probe 81/TCP',
    policies: [xaEgress(rule([], [port('serve-81-tcp')]))],
    port: 81,
    protocol: 'TCP',
    expected: allTrue(),
  },
  {
    name: 'x/a egress to named port serve-81-tcp anywhere: probe 80/TCP',
    policies: [xaEgress(rule([], [port('serve-81-tcp')]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyFromXa().allowLoopback(),
  },
  {
    name: 'y may reach only namespace x on 80: probe 80/TCP',
    policies: [policy('y/out-to-x', { policyTypes: ['egress'], egress: [rule([podPeer({ namespaceSelector: namespaceNamed('x') })], [port(80)])] })],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({ namespace: 'y' }, {}, false).expectPeer({ namespace: 'y' }, { namespace: 'x' }, true).allowLoopback(),
  },
  {
    name: 'x/a ingress from y and egress to z',
    policies: [
      policy('x/a-both', {
        podSelector: podNamed('a'),
        ingress: [rule([podPeer({ namespaceSelector: namespaceNamed('y') })])],
        egress: [rule([podPeer({ namespaceSelector: namespaceNamed('z') })])],
      }),
    ],
    port: 80,
    protocol: 'TCP',
    expected: allTrue()
      .expectAllIngress('x/a', false)
      .expectPeer({ namespace: 'y' }, { namespace: 'x', pod: 'a' }, true)
      .expectAllEgress('x/a', false)
      .expectPeer({ namespace: 'x', pod: 'a' }, { namespace: 'z' }, true)
      .allowLoopback(),
  },
  {
    name: 'both ends must allow: x/b egress to y only, y/a ingress from x/a only',
    policies: [
      policy('x/b-out', { podSelector: podNamed('b'), policyTypes: ['egress'], egress: [rule([podPeer({ namespaceSelector: namespaceNamed('y') })])] }),
      policy('y/a-in', { podSelector: podNamed('a'), ingress: [rule([podPeer({ namespaceSelector: namespaceNamed('x'), podSelector: podNamed('a') })])] }),
    ],
    port: 80,
    protocol: 'TCP',
    expected: allTrue()
      .expectAllEgress('x/b', false)
      .expectPeer({ namespace: 'x', pod: 'b' }, { namespace: 'y' }, true)
      .expectAllIngress('y/a', false)
      .expect('x/a', 'y/a', true)
      .allowLoopback(),
  },

  // ipBlock.
  {
    name: "x/a egress to namespace y's /24 by ipBlock",
    policies: [xaEgress(rule([ipBlockPeer('10.244.2.0/24')]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyFromXa().expectPeer({ namespace: 'x', pod: 'a' }, { namespace: 'y' }, true).allowLoopback(),
  },
  {
    name: 'x/a egress to the pod range except y/b',
    policies: [xaEgress(rule([ipBlockPeer('10.244.0.0/16', ['10.244.2.2/32'])]))],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expect('x/a', 'y/b', false),
  },
  {
    name: 'x/a ingress from the pod range except namespace z',
    policies: [xaIngress(rule([ipBlockPeer('10.244.0.0/16', ['10.244.3.0/24'])]))],
    port: 80,
    protocol: 'TCP',
    expected: allTrue().expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false),
  },
  {
    name: 'ipBlock 0.0.0.0/0 admits every pod',
    policies: [xaIngress(rule([ipBlockPeer('0.0.0.0/0')]))],
    port: 80,
    protocol: 'TCP',
    expected: allTrue(),
  },
  {
    name: 'ipBlock ::/0 admits no IPv4 pod',
    policies: [xaIngress(rule([ipBlockPeer('::/0')]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().allowLoopback(),
  },
  {
    name: 'IPv4-mapped IPv6 ipBlock admits the IPv4 pods of namespace y',
    policies: [xaIngress(rule([ipBlockPeer('::ffff:10.244.2.0/120')]))],
    port: 80,
    protocol: 'TCP',
    expected: onlyIntoXa().expectPeer({ namespace: 'y' }, { namespace: 'x', pod: 'a' }, true).allowLoopback(),
  },
];

function observed(c: ConformanceCase): Reachability {
  const snapshot = modelSnapshot(c.policies);
  return Reachability.observe(modelPodKeys, (from, to) =>
    connectionVerdict(snapshot, connection(at(modelPod(from)), at(modelPod(to)), c.port, c.protocol)).allowed,
  );
}

describe('conformance with the upstream netpol truth tables', () => {
  it('has at least 40 cases with distinct names', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [`${c.name} (${c.port}/${c.protocol})`, c] as const))('%s', (_, c) => {
    const actual = observed(c);
    expect(actual.prettyPrint(), `\n${reachabilityReport(c.expected, actual)}\n`).toBe(c.expected.prettyPrint());
  });
});
