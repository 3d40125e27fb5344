// Memory of the watch layer at 100,000 pods, measured the way the agent holds it: watchCluster lists pods,
// namespaces and NetworkPolicies from an API server (the tests' fake one, in a process of its own) through a
// kubeconfig, page by page, and keeps only the model's fields. Printed: heap retained by the watched state after
// garbage collection (per pod), the process's peak RSS, and the time from start to synced.
//   npx tsx bench/watch-memory.ts [pods]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { watchCluster } from '../src/kube/index.js';
import { writeKubeconfig } from '../test/kube/kubeconfig.js';
import { describeMachine, peakRssMiB } from './machine.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const heapUsed = () => {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

const pods = Number(process.argv[2] ?? 100_000);
const machine = describeMachine();
process.stderr.write(`starting an API server with ${pods} pods...\n`);
const server = spawn(process.execPath, ['--import', 'tsx', new URL('./watch-memory-server.ts', import.meta.url).pathname, String(pods)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout! }).once('line', resolve);
    server.once('exit', (code) => reject(new Error(`the API server process exited (${code}) before serving`)));
  });
  const { url, caCertificate } = JSON.parse(first) as { url: string; caCertificate: string };
  const kubeconfig = await writeKubeconfig([{ name: 'bench', server: url, caCertificate }]);

  const before = heapUsed();
  const started = performance.now();
  const watch = watchCluster({ connection: { kind: 'kubeconfig', paths: [kubeconfig] }, logger: pino({ level: 'silent' }) });
  await watch.synced();
  const syncedMs = performance.now() - started;
  const input = watch.state.snapshotInput();
  if (input.pods.length !== pods) throw new Error(`watched ${input.pods.length} pods, expected ${pods}`);
  const retained = heapUsed() - before;
  await watch.stop();
  const result = {
    benchmark: 'watch-memory',
    machine,
    pods: input.pods.length,
    namespaces: input.namespaces.length,
    policies: input.policies.length,
    syncedSeconds: Math.round(syncedMs) / 1000,
    retainedHeapMiB: Math.round((retained / 2 ** 20) * 10) / 10,
    retainedBytesPerPod: Math.round(retained / pods),
    peakRssMiB: peakRssMiB(),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  server.kill('SIGTERM');
}
