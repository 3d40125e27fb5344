// The API server side of watch-memory.ts, in a process of its own so that the benchmark's memory is the watch
// layer's alone: the fake API server holding PODS pods (100 namespaces, 10 workloads each, 1,000 nodes) and a
// policy a namespace. Prints one JSON line {url, caCertificate} once it serves, then runs until SIGTERM.
//   npx tsx bench/watch-memory-server.ts PODS
import { startFakeApiServer } from '../test/kube/fake-apiserver.js';
import { rawNamespace, rawPod, rawPolicy } from '../test/kube/objects.js';

const pods = Number(process.argv[2] ?? 100_000);
const NAMESPACES = 100;
// Creations are history too: keep only a little of it, as a compacted etcd does.
const server = await startFakeApiServer({ retainedChanges: 1_000 });
for (let n = 0; n < NAMESPACES; n++) {
  server.create('namespaces', rawNamespace(`team-${n}`, { team: `team-${n}` }));
  server.create('networkpolicies', rawPolicy(`team-${n}`, 'allow-frontend', {
    podSelector: { matchLabels: { app: 'app-0' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'app-1' } } }], ports: [{ port: 'http' }] }],
  }));
}
for (let i = 0; i < pods; i++) {
  const namespace = `team-${i % NAMESPACES}`;
  const app = `app-${Math.floor(i / NAMESPACES) % 10}`;
  server.create('pods', rawPod(namespace, `${app}-7d9f8c6b5-${i.toString(36).padStart(5, '0')}`, {
    labels: { app, 'pod-template-hash': '7d9f8c6b5', 'app.kubernetes.io/part-of': namespace, version: 'v1' },
    nodeName: `node-${i % 1_000}`,
    ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
  }));
}
process.stdout.write(`${JSON.stringify({ url: server.url, caCertificate: server.caCertificate })}\n`);
await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
await server.close();
