// Benchmark: how long a new pod of this node is unprotected. A pod's address appears in the API (the kubelet's
// status update with status.podIPs); until the agent has put that address in its dispatch verdict map, traffic to
// the pod passes as if no policy selected it. Measured per pod, from the update to the moment `nft monitor`
// reports the `ingress_pods4` element of its address, with the real agent (defaults: 100 ms debounce, 1 s max
// delay) watching the fake API server over HTTPS, in a network namespace of its own.
// Two arrival patterns: pods one by one (each alone in its sync) and a burst (a Deployment scaled up: the
// debounce batches them, the max delay bounds the wait). With --unknown-local-pods, the agent drops traffic of
// its pod CIDR's unknown addresses: the same window is then one in which the new pod cannot talk yet.
// Run: npx tsx bench/new-pod-window.ts [pods] [background pods] [--unknown-local-pods]   (default 200, 2,000)
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { AGENT_DEFAULTS, startAgent } from '../src/agent/index.js';
import { startFakeApiServer } from '../test/kube/fake-apiserver.js';
import { writeKubeconfig } from '../test/kube/kubeconfig.js';
import { changed, rawNamespace, rawPod, rawPolicy } from '../test/kube/objects.js';
import { describeMachine, peakRssMiB } from './machine.js';
import { percentile, round } from './stats.js';
import { inThrowawayNetns } from './throwaway-netns.js';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const podCount = Number(positional[0] ?? 200);
const backgroundCount = Number(positional[1] ?? 2_000);
const failClosed = process.argv.includes('--unknown-local-pods');
const NODE = 'node-0';
const LOCAL_CIDR = '10.246.0.0/16';
const REMOTE_NODES = 20;
const SCENARIOS = [
  { name: 'one-by-one', spacingMs: 400 },
  { name: 'burst', spacingMs: 10 },
] as const;
const ENTRY_TIMEOUT_MS = 15_000;

interface Scenario {
  readonly name: string;
  readonly spacingMs: number;
  readonly windowMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly min: number; readonly max: number };
}

const result = await inThrowawayNetns('new-pod-window', async () => {
  const machine = describeMachine();
  // The fake API server listens on 127.0.0.1 of this namespace.
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const workDir = await mkdtemp(join(tmpdir(), 'bulkhead-new-pod-window-'));
  const server = await startFakeApiServer({ bookmarkIntervalMs: 60_000 });
  const monitor = spawn('nft', ['monitor', 'new', 'elements'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    seedCluster(server);
    const kubeconfig = await writeKubeconfig([{ name: 'bench', server: server.url, caCertificate: server.caCertificate }]);
    // No CNI results: the new pods are unbound (their source addresses unchecked), which changes nothing here.
    const cniResultsDir = join(workDir, 'cni');
    await mkdir(cniResultsDir);
    const agent = await startAgent({
      nodeName: NODE,
      source: { kind: 'cluster', connection: { kind: 'kubeconfig', paths: [kubeconfig] } },
      cniResultsDir,
      ...(failClosed ? { unknownLocalPods: { podCidrs: [LOCAL_CIDR] } } : {}),
      logger: pino({ level: 'error' }, process.stderr),
    });
    try {
      await until(() => agent.status().ready, 'the agent to be ready', 60_000);
      // Every kernel element the monitor reports from here on, by address, with when it arrived.
      const seenAt = new Map<string, number>();
      const waiting = new Map<string, () => void>();
      createInterface(monitor.stdout).on('line', (line) => {
        if (!line.includes('ingress_pods4')) return;
        const at = performance.now();
        for (const ip of line.match(/\d+\.\d+\.\d+\.\d+/g) ?? []) {
          if (!seenAt.has(ip)) seenAt.set(ip, at);
          waiting.get(ip)?.();
        }
      });
      // The monitor is listening once a change made now is reported.
      await new Promise((resolve) => setTimeout(resolve, 500));

      const scenarios: Scenario[] = [];
      let next = 0;
      for (const scenario of SCENARIOS) {
        const windows: number[] = [];
        const arrivals: Promise<void>[] = [];
        for (let i = 0; i < podCount; i++, next++) {
          const name = `new-${next}`;
          const ip = `10.246.${1 + Math.floor(next / 250)}.${1 + (next % 250)}`;
          // Scheduled and pending first: no address yet, nothing for the kernel.
          server.create('pods', rawPod('bench', name, { labels: { app: 'bench' }, nodeName: NODE }));
          const appeared = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${ip} of bench/${name} never reached the kernel`)), ENTRY_TIMEOUT_MS);
            waiting.set(ip, () => {
              clearTimeout(timer);
              resolve();
            });
          });
          await new Promise((resolve) => setTimeout(resolve, scenario.spacingMs));
          const started = performance.now();
          server.update('pods', changed(server.get('pods', 'bench', name)!, (pod) => {
            pod['status'] = { ...(pod['status'] as object), phase: 'Running', podIPs: [{ ip }], podIP: ip };
          }));
          arrivals.push(appeared.then(() => {
            windows.push(seenAt.get(ip)! - started);
          }));
        }
        await Promise.all(arrivals);
        scenarios.push({ name: scenario.name, spacingMs: scenario.spacingMs, windowMs: distribution(windows) });
        process.stderr.write(`${scenario.name}: p50 ${round(percentile(windows, 0.5))} ms, p99 ${round(percentile(windows, 0.99))} ms\n`);
        // Let the last sync settle before the next pattern starts.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      const status = agent.status();
      // Where the window goes besides the debounce: the agent's own timing of its syncs and nft transactions.
      const mean = async (histogram: string) => {
        // A histogram's values are named: buckets, _sum and _count.
        const values = ((await agent.registry.getSingleMetric(histogram)?.get())?.values ?? []) as readonly { metricName?: string; value: number }[];
        const sum = values.find((v) => v.metricName === `${histogram}_sum`)?.value ?? 0;
        const count = values.find((v) => v.metricName === `${histogram}_count`)?.value ?? 0;
        return { count, meanMs: count === 0 ? 0 : round((sum / count) * 1_000) };
      };
      return {
        benchmark: 'new-pod-window',
        date: new Date().toISOString(),
        machine,
        cluster: { backgroundPods: backgroundCount, newPods: podCount * SCENARIOS.length, remoteNodes: REMOTE_NODES },
        agent: { debounceMs: AGENT_DEFAULTS.debounceMs, maxDelayMs: AGENT_DEFAULTS.maxDelayMs, unknownLocalPods: failClosed ? 'drop' : 'allow', transactions: status.appliedTransactions, failedSyncs: status.failedSyncs },
        scenarios,
        syncs: await mean('bulkhead_sync_duration_seconds'),
        nftTransactions: await mean('bulkhead_nft_transaction_seconds'),
        peakRssMiB: peakRssMiB(),
      };
    } finally {
      await agent.stop();
    }
  } finally {
    monitor.kill();
    await server.close();
    await rm(workDir, { recursive: true, force: true });
  }
});
console.log(JSON.stringify(result, null, 2));

/**
 * The background: pods of other nodes (peers, half of them `app: web`), a few local pods, and a policy isolating
 * every pod of namespace `bench` both ways (ingress from web pods, egress to DNS), which the new pods join.
 */
function seedCluster(server: Awaited<ReturnType<typeof startFakeApiServer>>): void {
  server.create('namespaces', rawNamespace('bench'));
  const namespaces = ['shop', 'payments', 'search', 'ads'];
  for (const namespace of namespaces) server.create('namespaces', rawNamespace(namespace));
  for (let i = 0; i < backgroundCount; i++) {
    const node = 1 + (i % REMOTE_NODES);
    server.create('pods', rawPod(namespaces[i % namespaces.length]!, `pod-${i}`, {
      labels: { app: i % 2 === 0 ? 'web' : 'worker' },
      nodeName: `node-${node}`,
      ips: [`10.244.${node}.${1 + Math.floor(i / REMOTE_NODES)}`],
    }));
  }
  for (let i = 0; i < 20; i++) {
    server.create('pods', rawPod('bench', `resident-${i}`, { labels: { app: 'bench' }, nodeName: NODE, ips: [`10.246.0.${10 + i}`] }));
  }
  server.create('networkpolicies', rawPolicy('bench', 'isolate', {
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }],
    egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
  }));
}

function distribution(values: readonly number[]): Scenario['windowMs'] {
  return {
    p50: round(percentile(values, 0.5)),
    p90: round(percentile(values, 0.9)),
    p99: round(percentile(values, 0.99)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
