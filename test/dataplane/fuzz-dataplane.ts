// The differential dataplane check for as long as asked:
//
//   SEED=1234 N=500 npx tsx test/dataplane/fuzz-dataplane.ts     (make fuzz-dataplane SEED=1234 N=500)
//
// runs clusters SEED, SEED+1, ... SEED+N-1 (each a random cluster of test/support/arbitraries.ts on the two-node
// lab, PROBES probes each, default 60, of randomCluster size SIZE, default 12), prints one line per cluster and every disagreement with its reproduction,
// and exits 1 if there was any. Without SEED, one is drawn and printed. Needs root, nft and the lab's tools.
import { DEFAULT_CLUSTER_SIZE, DEFAULT_PROBES_PER_CLUSTER, runRandomCluster } from './differential.js';
import { startCluster } from './harness.js';

function wholeNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    process.stderr.write(`fuzz-dataplane: ${name} must be a whole number, not ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
}

const seed = wholeNumber('SEED', Math.floor(Math.random() * 2 ** 31));
const count = wholeNumber('N', 100);
const probes = wholeNumber('PROBES', DEFAULT_PROBES_PER_CLUSTER);
const size = wholeNumber('SIZE', DEFAULT_CLUSTER_SIZE);

process.stdout.write(`fuzz-dataplane: SEED=${seed} N=${count} PROBES=${probes} SIZE=${size}\n`);
const started = Date.now();
const cluster = await startCluster({ probeConcurrency: 128 });
let disagreeing = 0;
let probed = 0;
let denied = 0;
try {
  for (let i = 0; i < count; i++) {
    const run = await runRandomCluster(cluster, seed + i, probes, size);
    probed += run.results.length;
    denied += run.results.filter((r) => !r.verdict.allowed).length;
    const verdict = run.disagreements.length === 0 ? 'agree' : `${run.disagreements.length} DISAGREE`;
    process.stdout.write(`seed ${run.seed}: ${run.results.length} probes, ${run.results.filter((r) => !r.verdict.allowed).length} denied: ${verdict}\n`);
    for (const report of run.disagreements) process.stdout.write(`\n${report}\n\n`);
    if (run.disagreements.length > 0) disagreeing++;
  }
} finally {
  await cluster.stop();
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(`fuzz-dataplane: ${count} clusters, ${probed} probes (${denied} denied), ${disagreeing} clusters with disagreements, ${seconds} s\n`);
process.exitCode = disagreeing > 0 ? 1 : 0;
