// Laws of the verdict that must hold on any cluster, checked on random ones.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { DIRECTIONS, type Direction, type NetworkPolicy, podKey, policyKey } from '../../src/model/types.js';
import {
  type Connection,
  type DirectionVerdict,
  type Endpoint,
  connectionVerdict,
  directionVerdict,
  ipBlockContains,
  ipBlockRanges,
  isolatingPolicies,
  peerMatches,
  podsMatchingPeer,
  ruleAdmits,
  rulesOf,
  selectablePod,
  sides,
} from '../../src/policy/index.js';
import { type Snapshot, buildSnapshot } from '../../src/snapshot/snapshot.js';
import {
  type RandomCluster,
  addressArbitrary,
  clusterArbitrary,
  clusterWithConnections,
  connectionArbitrary,
  endpointsOf,
  ipBlockArbitrary,
  policyArbitrary,
  randomCluster,
} from '../support/arbitraries.js';

const RUNS = { numRuns: 120 };

function snapshotWith(cluster: RandomCluster, policies: readonly NetworkPolicy[] = cluster.policies): Snapshot {
  return buildSnapshot({ ...cluster, policies });
}

function subjectPodOf(conn: Connection, direction: Direction) {
  return selectablePod(sides(conn, direction).subject);
}

function findPolicy(snapshot: Snapshot, key: string): NetworkPolicy {
  const found = snapshot.policies.find((p) => policyKey(p) === key);
  if (!found) throw new Error(`verdict names ${key}, which is not in the snapshot`);
  return found;
}

/** A verdict with its lists sorted, so two verdicts can be compared regardless of policy order. */
function normalized(v: DirectionVerdict): unknown {
  switch (v.reason) {
    case 'rule':
      return { ...v, isolatedBy: [...v.isolatedBy].sort(), rules: v.rules.map((r) => JSON.stringify(r)).sort() };
    case 'isolated':
      return { ...v, isolatedBy: [...v.isolatedBy].sort() };
    default:
      return v;
  }
}

const withAddedPolicy = clusterWithConnections().chain(({ cluster, connections }) =>
  policyArbitrary(
    cluster.namespaces.map((n) => n.name),
    'added',
  ).map((added) => ({ cluster, connections, added })),
);

const withPermutation = clusterWithConnections().chain(({ cluster, connections }) =>
  fc
    .shuffledSubarray([...cluster.policies], { minLength: cluster.policies.length, maxLength: cluster.policies.length })
    .map((shuffled) => ({ cluster, connections, shuffled })),
);

describe('verdict laws on random clusters', () => {
  it('adding a policy never removes a connection already allowed in a direction where the pod was isolated', () => {
    fc.assert(
      fc.property(withAddedPolicy, ({ cluster, connections, added }) => {
        const before = snapshotWith(cluster);
        const after = snapshotWith(cluster, [...cluster.policies, added]);
        for (const conn of connections) {
          for (const direction of DIRECTIONS) {
            const was = directionVerdict(before, conn, direction);
            if (!was.allowed || was.reason === 'not-isolated') continue;
            const now = directionVerdict(after, conn, direction);
            expect(now.allowed).toBe(true);
            if (was.reason === 'rule') {
              expect(now.reason).toBe('rule');
              if (now.reason === 'rule') expect(now.rules).toEqual(expect.arrayContaining([...was.rules]));
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('with every policy removed, every connection is allowed and no verdict cites a rule', () => {
    fc.assert(
      fc.property(clusterWithConnections(), ({ cluster, connections }) => {
        const open = snapshotWith(cluster, []);
        for (const conn of connections) {
          const v = connectionVerdict(open, conn);
          expect(v.allowed).toBe(true);
          for (const d of [v.egress, v.ingress]) expect(['not-isolated', 'not-a-pod', 'loopback', 'node-local']).toContain(d.reason);
        }
      }),
      RUNS,
    );
  });

  it('a connection is allowed iff egress at the source and ingress at the destination both are', () => {
    fc.assert(
      fc.property(clusterWithConnections(), ({ cluster, connections }) => {
        const snapshot = snapshotWith(cluster);
        for (const conn of connections) {
          const v = connectionVerdict(snapshot, conn);
          expect(v.egress).toEqual(directionVerdict(snapshot, conn, 'egress'));
          expect(v.ingress).toEqual(directionVerdict(snapshot, conn, 'ingress'));
          expect(v.allowed).toBe(v.egress.allowed && v.ingress.allowed);
        }
      }),
      RUNS,
    );
  });

  it('rule references are exactly the rules of isolating policies that admit the connection', () => {
    fc.assert(
      fc.property(clusterWithConnections(), ({ cluster, connections }) => {
        const snapshot = snapshotWith(cluster);
        for (const conn of connections) {
          for (const direction of DIRECTIONS) {
            const v = directionVerdict(snapshot, conn, direction);
            if (v.reason !== 'rule' && v.reason !== 'isolated') continue;
            const admitting = v.isolatedBy
              .map((key) => findPolicy(snapshot, key))
              .flatMap((policy) => rulesOf(policy, direction).map((_, i) => ruleAdmits(snapshot, policy, direction, i, conn)))
              .filter((ref) => ref !== undefined);
            if (v.reason === 'isolated') {
              expect(admitting).toEqual([]);
              continue;
            }
            expect(v.rules).toEqual(admitting);
            for (const ref of v.rules) {
              expect(ref.direction).toBe(direction);
              expect(ruleAdmits(snapshot, findPolicy(snapshot, ref.policy), direction, ref.rule, conn)).toEqual(ref);
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('isolatedBy names exactly the isolating policies, and not-isolated means there are none', () => {
    fc.assert(
      fc.property(clusterWithConnections(), ({ cluster, connections }) => {
        const snapshot = snapshotWith(cluster);
        for (const conn of connections) {
          for (const direction of DIRECTIONS) {
            const v = directionVerdict(snapshot, conn, direction);
            const pod = subjectPodOf(conn, direction);
            if (v.reason === 'rule' || v.reason === 'isolated') {
              expect(pod).toBeDefined();
              expect(v.isolatedBy).toEqual(isolatingPolicies(snapshot, pod!, direction).map(policyKey));
            }
            if (v.reason === 'not-isolated') expect(isolatingPolicies(snapshot, pod!, direction)).toEqual([]);
            if (v.reason === 'not-a-pod') expect(pod).toBeUndefined();
          }
        }
      }),
      RUNS,
    );
  });

  it('a direction is decided only by policies whose policyTypes include it', () => {
    fc.assert(
      fc.property(clusterWithConnections(), ({ cluster, connections }) => {
        const full = snapshotWith(cluster);
        for (const direction of DIRECTIONS) {
          const only = snapshotWith(
            cluster,
            cluster.policies.filter((p) => p.policyTypes.includes(direction)),
          );
          for (const conn of connections) expect(directionVerdict(only, conn, direction)).toEqual(directionVerdict(full, conn, direction));
        }
      }),
      RUNS,
    );
  });

  it('the order of policies does not change any verdict', () => {
    fc.assert(
      fc.property(withPermutation, ({ cluster, connections, shuffled }) => {
        const original = snapshotWith(cluster);
        const permuted = snapshotWith(cluster, shuffled);
        for (const conn of connections) {
          const a = connectionVerdict(original, conn);
          const b = connectionVerdict(permuted, conn);
          expect(b.allowed).toBe(a.allowed);
          expect(normalized(b.egress)).toEqual(normalized(a.egress));
          expect(normalized(b.ingress)).toEqual(normalized(a.ingress));
        }
      }),
      RUNS,
    );
  });

  it('verdicts are deterministic: again on the same snapshot, and on a fresh copy of the same cluster', () => {
    fc.assert(
      fc.property(clusterWithConnections(), ({ cluster, connections }) => {
        const snapshot = snapshotWith(cluster);
        const copy = structuredClone(cluster);
        const fresh = buildSnapshot(copy);
        const inCopy = (e: Endpoint): Endpoint => (e.kind === 'pod' ? { ...e, pod: fresh.pod(podKey(e.pod))! } : e);
        for (const conn of connections) {
          const first = connectionVerdict(snapshot, conn);
          expect(connectionVerdict(snapshot, conn)).toEqual(first);
          expect(connectionVerdict(fresh, { ...conn, from: inCopy(conn.from), to: inCopy(conn.to) })).toEqual(first);
        }
      }),
      RUNS,
    );
  });
});

function addressValue(ip: string): { family: 4 | 6; value: bigint } {
  const addr = ipaddr.process(ip);
  const value = addr.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return { family: addr.kind() === 'ipv4' ? 4 : 6, value };
}

// The compiler fills its sets from these; they must say exactly what the verdict says.
describe('set-building helpers agree with the verdict', () => {
  it('ipBlockRanges covers exactly the addresses ipBlockContains admits, as sorted disjoint spans', () => {
    fc.assert(
      fc.property(ipBlockArbitrary, fc.array(addressArbitrary, { minLength: 1, maxLength: 30 }), (block, addresses) => {
        const ranges = ipBlockRanges(block).map((r) => ({ family: r.family, first: addressValue(r.first).value, last: addressValue(r.last).value }));
        for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.first > ranges[i - 1]!.last + 1n).toBe(true);
        for (const ip of addresses) {
          const { family, value } = addressValue(ip);
          const inRanges = ranges.some((r) => r.family === family && r.first <= value && value <= r.last);
          expect(inRanges, `${ip} in ${JSON.stringify(block)}`).toBe(ipBlockContains(block, ip));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('podsMatchingPeer lists exactly the pods a pod peer matches', () => {
    fc.assert(
      fc.property(clusterArbitrary({ maxPolicies: 4 }), (cluster) => {
        const snapshot = snapshotWith(cluster);
        for (const policy of cluster.policies) {
          for (const rule of [...policy.ingress, ...policy.egress]) {
            for (const peer of rule.peers) {
              if (peer.kind !== 'pods') continue;
              const listed = new Set(podsMatchingPeer(snapshot, policy, peer));
              for (const pod of cluster.pods) {
                const matched = pod.ips.some((ip) => peerMatches(snapshot, policy, peer, { kind: 'pod', pod, ip }));
                expect(listed.has(pod), `${podKey(pod)} for ${policyKey(policy)}`).toBe(matched);
              }
            }
          }
        }
      }),
      RUNS,
    );
  });
});

describe('the random cluster generators', () => {
  it('randomCluster is reproducible from its seed and varies with it', () => {
    expect(randomCluster(7, 12)).toEqual(randomCluster(7, 12));
    const distinct = new Set(Array.from({ length: 8 }, (_, seed) => JSON.stringify(randomCluster(seed, 12))));
    expect(distinct.size).toBeGreaterThan(1);
  });

  it('gives every non-hostNetwork pod its own addresses and keys', () => {
    fc.assert(
      fc.property(clusterArbitrary({ maxPods: 30 }), (cluster) => {
        const keys = cluster.pods.map(podKey);
        expect(new Set(keys).size).toBe(keys.length);
        const ips = cluster.pods.filter((p) => !p.hostNetwork).flatMap((p) => p.ips);
        expect(new Set(ips).size).toBe(ips.length);
        const snapshot = buildSnapshot(cluster);
        for (const p of cluster.pods.filter((x) => !x.hostNetwork)) for (const ip of p.ips) expect(snapshot.podByIP(ip)).toBe(p);
      }),
      { numRuns: 50 },
    );
  });

  it('reaches every verdict reason, so the laws above are not vacuous', () => {
    const reasons = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const cluster = randomCluster(seed, 12);
      const snapshot = buildSnapshot(cluster);
      for (const conn of fc.sample(connectionArbitrary(cluster), { seed, numRuns: 60 })) {
        const v = connectionVerdict(snapshot, conn);
        reasons.add(`egress:${v.egress.reason}`).add(`ingress:${v.ingress.reason}`);
      }
      expect(endpointsOf(cluster).length).toBeGreaterThan(0);
    }
    for (const direction of DIRECTIONS) {
      for (const reason of ['not-isolated', 'not-a-pod', 'loopback', 'node-local', 'rule', 'isolated']) {
        expect(reasons).toContain(`${direction}:${reason}`);
      }
    }
  });
});
