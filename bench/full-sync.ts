// Benchmark: an agent's full sync at cluster scale (targets: < 3 s from cluster objects to rules in the kernel,
// < 300 MB resident), in a fresh network namespace of its own:
//   snapshot build -> compile (node-0's plan) -> full transaction -> `nft -j -f` through the runner,
// then the same transaction again over the tables it just made (an agent restart: the old rules are replaced in
// the same transaction), and once more under GNU time for nft's own peak memory.
// Run: npx tsx bench/full-sync.ts [pods] [policies]   (default 100,000 pods, 10,000 policies)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { compilePlan, fullTransaction } from '../src/compile/index.js';
import { createNftRunner } from '../src/nft/index.js';
import { buildSnapshot } from '../src/snapshot/snapshot.js';
import { generateCluster } from './cluster-generator.js';
import { localBindings } from './local-bindings.js';
import { describeMachine, peakRssMiB } from './machine.js';
import { planSize, transactionSize } from './plan-size.js';
import { round } from './stats.js';
import { inThrowawayNetns } from './throwaway-netns.js';

const podCount = Number(process.argv[2] ?? 100_000);
const policyCount = Number(process.argv[3] ?? 10_000);
// About a hundred pods a node and ten policies a namespace, as in the clusters the design targets.
const PODS_PER_NODE = 100;
const POLICIES_PER_NAMESPACE = 10;
const NODE = 'node-0';

const result = await inThrowawayNetns('full-sync', async (netns) => {
  const machine = describeMachine();
  const cluster = generateCluster({
    pods: podCount,
    policies: policyCount,
    namespaces: Math.max(1, Math.round(policyCount / POLICIES_PER_NAMESPACE)),
    nodes: Math.max(1, Math.round(podCount / PODS_PER_NODE)),
    placement: 'scattered',
  });
  const bindings = localBindings(cluster.pods, NODE);
  const rssBeforeSyncMiB = Math.round(process.memoryUsage().rss / 2 ** 20);

  const t0 = performance.now();
  const snapshot = buildSnapshot(cluster);
  const t1 = performance.now();
  const compiled = compilePlan(snapshot, { nodeName: NODE, bindings });
  const t2 = performance.now();
  const transaction = fullTransaction(compiled.plan);
  const t3 = performance.now();
  const runner = createNftRunner({ logger: pino({ level: 'silent' }) });
  const fresh = await runner.apply(transaction);
  const t4 = performance.now();
  if (!fresh.ok) throw new Error(`full sync failed in ${netns}: ${fresh.failure.messages.join('; ')}`);
  const peakRss = peakRssMiB();

  const replaced = await runner.apply(transaction);
  const t5 = performance.now();
  if (!replaced.ok) throw new Error(`replacing sync failed in ${netns}: ${replaced.failure.messages.join('; ')}`);
  await runner.close();
  const inKernel = spawnSync('nft', ['list', 'chain', 'inet', 'bulkhead', 'ingress'], { encoding: 'utf8' });
  if (inKernel.status !== 0) throw new Error(`the kernel of ${netns} holds no bulkhead ingress chain: ${inKernel.stderr}`);

  const warmStart = performance.now();
  compilePlan(buildSnapshot(cluster), { nodeName: NODE, bindings });
  const warmCompileMs = performance.now() - warmStart;

  return {
    benchmark: 'full-sync',
    date: new Date().toISOString(),
    machine,
    cluster: {
      pods: snapshot.pods.length,
      policies: snapshot.policies.length,
      namespaces: snapshot.namespaces.size,
      localPods: bindings.length,
    },
    plan: planSize(compiled.plan),
    compileProblems: compiled.problems.length,
    transaction: transactionSize(transaction),
    ms: {
      snapshot: round(t1 - t0),
      compile: round(t2 - t1),
      transaction: round(t3 - t2),
      nftApplyFresh: round(t4 - t3),
      total: round(t4 - t0),
      nftApplyReplacing: round(t5 - t4),
      warmSnapshotAndCompile: round(warmCompileMs),
    },
    memoryMiB: {
      rssBeforeSync: rssBeforeSyncMiB,
      peakRss,
      nftPeakRss: nftPeakRssMiB(transaction),
    },
  };
});
console.log(JSON.stringify(result, null, 2));

/** nft's own peak memory for one apply of the transaction (GNU time's %M), replacing the tables once more. */
function nftPeakRssMiB(transaction: unknown): number {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-bench-'));
  try {
    const file = join(dir, 'transaction.json');
    writeFileSync(file, JSON.stringify(transaction));
    const timed = spawnSync('/usr/bin/time', ['-f', '%M', 'nft', '-j', '-f', file], { encoding: 'utf8' });
    if (timed.status !== 0) throw new Error(`nft under /usr/bin/time failed: ${timed.stderr.trim()}`);
    const kib = Number(timed.stderr.trim().split('\n').pop());
    return Math.round(kib / 1024);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
