// Benchmark: verdicts per second of the pure core on a generated cluster (issue: >= 1M verdicts/s at 2,000 pods
// and 500 policies on this 2-core machine). Run: npx tsx bench/core-verdicts.ts [pods] [policies]
import os from 'node:os';
import { connectionVerdict } from '../src/policy/index.js';
import { buildSnapshot } from '../src/snapshot/snapshot.js';
import { generateCluster } from './cluster-generator.js';

const podCount = Number(process.argv[2] ?? 2000);
const policyCount = Number(process.argv[3] ?? 500);
const cluster = generateCluster({ pods: podCount, policies: policyCount, namespaces: 40 });
let peakRss = process.memoryUsage().rss;
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

const buildStart = performance.now();
const snapshot = buildSnapshot(cluster);
const buildMs = performance.now() - buildStart;

const probes = [
  { port: 8080, protocol: 'TCP' as const },
  { port: 5432, protocol: 'TCP' as const },
];
let verdicts = 0;
let allowed = 0;
const start = performance.now();
for (const probe of probes) {
  for (const from of snapshot.pods) {
    const fromEndpoint = { kind: 'pod' as const, pod: from, ip: from.ips[0]! };
    for (const to of snapshot.pods) {
      const v = connectionVerdict(snapshot, { from: fromEndpoint, to: { kind: 'pod', pod: to, ip: to.ips[0]! }, ...probe });
      verdicts++;
      if (v.allowed) allowed++;
    }
    if (verdicts % 200_000 < snapshot.pods.length) sample();
  }
}
const seconds = (performance.now() - start) / 1000;
sample();
console.log(
  JSON.stringify(
    {
      benchmark: 'core-verdicts',
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
      pods: snapshot.pods.length,
      policies: snapshot.policies.length,
      snapshotBuildMs: Math.round(buildMs),
      verdicts,
      allowedShare: Number((allowed / verdicts).toFixed(3)),
      seconds: Number(seconds.toFixed(2)),
      verdictsPerSecond: Math.round(verdicts / seconds),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
    },
    null,
    2,
  ),
);
