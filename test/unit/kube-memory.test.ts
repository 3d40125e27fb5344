// Memory of the watch layer's state at 100,000 pods: only the model's fields are kept, never the API objects,
// and what pods share (labels, ports, namespace and node names) is held once.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ClusterState, type Reading } from '../../src/kube/index.js';
import type { Pod } from '../../src/model/index.js';
import { rawPod } from '../kube/objects.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapUsed(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

const PODS = 100_000;
const PAGE = 500;

/** A pod of a cluster of 100 namespaces of 1,000 pods, 10 deployments each, on 1,000 nodes: as an API list returns it. */
function apiPod(i: number): Record<string, unknown> {
  const namespace = `team-${Math.floor(i / 1_000)}`;
  const app = `app-${Math.floor(i / 100) % 10}`;
  const pod = rawPod(namespace, `${app}-7d9f8c6b5-${i.toString(36).padStart(5, '0')}`, {
    labels: { app, 'pod-template-hash': '7d9f8c6b5', 'app.kubernetes.io/part-of': namespace, version: 'v1' },
    nodeName: `node-${i % 1_000}`,
    ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
  });
  return { ...pod, metadata: { ...pod.metadata, uid: `uid-${i}`, resourceVersion: String(1_000 + i), creationTimestamp: '2026-01-01T00:00:00Z' } };
}

describe('ClusterState at 100,000 pods', () => {
  it('keeps under 640 bytes a pod, sharing what the pods of one workload have in common', () => {
    const before = heapUsed();
    const started = performance.now();
    const state = new ClusterState();
    const read = state.reader('pods');
    const readings: Reading<Pod>[] = [];
    // Page by page, as a list arrives: the raw objects of one page at a time.
    for (let page = 0; page < PODS / PAGE; page++) {
      const raw = Array.from({ length: PAGE }, (_, j) => JSON.parse(JSON.stringify(apiPod(page * PAGE + j))) as unknown);
      for (const object of raw) readings.push(read(object));
    }
    const listed = heapUsed() - before;
    state.replace('pods', readings);
    readings.length = 0;
    const elapsedMs = performance.now() - started;
    const retained = heapUsed() - before;

    const pods = state.snapshotInput().pods;
    expect(pods).toHaveLength(PODS);
    const [first, second] = pods.filter((p) => p.namespace === 'team-0' && p.labels['app'] === 'app-0');
    expect(first!.labels).toBe(second!.labels);
    expect(first!.ports).toBe(second!.ports);
    const perPod = retained / PODS;
    console.log(
      `ClusterState with ${PODS} pods: ${(retained / 2 ** 20).toFixed(1)} MiB heap (${perPod.toFixed(0)} bytes a pod); ` +
        `${(listed / 2 ** 20).toFixed(1)} MiB while the list waited to be applied; read and stored in ${(elapsedMs / 1000).toFixed(1)} s`,
    );
    expect(perPod).toBeLessThan(640);
    expect(listed / PODS).toBeLessThan(640);
  }, 120_000);
});
