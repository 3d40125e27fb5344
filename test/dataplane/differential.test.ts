// The kernel against the semantics, on random clusters: 20 seeded clusters of test/support/arbitraries.ts mapped
// onto one two-node lab (pods re-placed and policies replaced between them), 60 probes each, about half of them
// denied, over TCP, UDP and SCTP, IPv4 and IPv6, to pods, nodes and the outside host, from pods and from nodes.
// Every probe must end as connectionVerdict says. `SEED=... N=... npx tsx test/dataplane/fuzz-dataplane.ts`
// runs the same check for as long as asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterRun, runRandomCluster } from './differential.js';
import { type Cluster, type ProbeResult, startCluster } from './harness.js';

const CLUSTERS = 20;
/** Fixed, so that a failure here is a failure on the next run too (up to pod addresses: see the replay line). */
const FIRST_SEED = 20_240_601;

let cluster: Cluster;
const runs: ClusterRun[] = [];

beforeAll(async () => {
  cluster = await startCluster({ probeConcurrency: 128 });
});

afterAll(async () => {
  await cluster?.stop();
});

describe('the kernel agrees with connectionVerdict on random clusters', () => {
  for (let i = 0; i < CLUSTERS; i++) {
    const seed = FIRST_SEED + i;
    it(`seed ${seed}`, async () => {
      const run = await runRandomCluster(cluster, seed);
      runs.push(run);
      expect(run.disagreements.join('\n\n')).toBe('');
    });
  }

  // Without these, a generator that drifted into trivial clusters would pass everything above.
  it('probed enough, and enough of every kind', () => {
    const results = runs.flatMap((run) => run.results);
    const share = (test: (r: ProbeResult) => boolean) => results.filter(test).length;
    expect(runs).toHaveLength(CLUSTERS);
    expect(results.length).toBeGreaterThanOrEqual(200);
    expect(share((r) => r.outcome === 'timeout')).toBeGreaterThanOrEqual(results.length * 0.2);
    expect(share((r) => r.outcome === 'connected')).toBeGreaterThanOrEqual(results.length * 0.3);
    expect(share((r) => r.verdict.egress.reason === 'rule' || r.verdict.ingress.reason === 'rule')).toBeGreaterThanOrEqual(results.length * 0.15);
    expect(share((r) => r.verdict.egress.reason === 'isolated')).toBeGreaterThan(0);
    expect(share((r) => r.verdict.ingress.reason === 'isolated')).toBeGreaterThan(0);
    for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) expect({ protocol, n: share((r) => r.probe.protocol === protocol) > 0 }).toEqual({ protocol, n: true });
    expect(share((r) => r.destinationIP.includes(':'))).toBeGreaterThan(0);
    expect(share((r) => typeof r.probe.to !== 'string')).toBeGreaterThan(0);
    expect(share((r) => r.verdict.egress.reason === 'not-a-pod')).toBeGreaterThan(0);
    expect(share((r) => r.verdict.ingress.reason === 'not-a-pod' && r.verdict.ingress.endpoint === 'host-network')).toBeGreaterThan(0);
    expect(share((r) => r.verdict.egress.reason === 'node-local' || r.verdict.ingress.reason === 'node-local')).toBeGreaterThan(0);
  });
});
