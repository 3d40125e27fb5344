// The whole path, with a real agent: `bulkhead agent` watching the fake API server through a kubeconfig, in a
// network namespace of its own (its own ruleset) that stands for node n1, and `bulkhead explain` run on that node:
// it reads the cluster, finds the agent's pod on the pod's node, and shows what the agent put in the kernel. When a
// policy goes away in the API, the agent's chains follow, and so does what explain shows.
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { rawNamespace, rawPod, rawPolicy } from '../kube/objects.js';
import { useThrowawayNetns } from '../support/netns.js';
import { MAIN, REPO, runProcess } from './cli-cluster-helpers.js';

// Node n1; the namespace takes the agent's ruleset with it.
const netns = useThrowawayNetns('bh-cli-cluster');

let server: FakeApiServer;
let kubeconfig: string;
let tunnel: Server;
const tunnelConnections = new Set<Socket>();
const children: ChildProcess[] = [];
let agentLog = '';

function startInNamespace(args: readonly string[], onOutput: (text: string) => void = () => undefined): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', netns.name, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
  children.push(child);
  return child;
}

/** `bulkhead ARGS` on node n1: inside its network namespace. */
const onNode = (...args: string[]) => runProcess('ip', ['netns', 'exec', netns.name, process.execPath, '--import', 'tsx', MAIN, ...args]);

/** The resourceVersion of the agent's last 'rules applied' or 'rules already in force' line. */
function agentResourceVersion(): number {
  const versions = agentLog
    .split('\n')
    .filter((line) => line.includes('"msg":"rules applied"') || line.includes('"msg":"rules already in force"'))
    .map((line) => Number((JSON.parse(line) as { resourceVersion?: string }).resourceVersion));
  return versions.at(-1) ?? 0;
}

beforeAll(async () => {
  server = await startFakeApiServer({ bookmarkIntervalMs: 200 });
  server.create('namespaces', rawNamespace('default'));
  server.create('namespaces', rawNamespace('bulkhead-system'));
  server.create('pods', rawPod('default', 'frontend', { labels: { app: 'frontend' }, nodeName: 'n1', ips: ['10.244.1.10'], ports: [{ containerPort: 80 }] }));
  server.create('pods', rawPod('default', 'backend', { labels: { app: 'backend' }, nodeName: 'n1', ips: ['10.244.1.11'], ports: [{ name: 'http', containerPort: 8080 }] }));
  // The agent's own pod, in the host network of n1: the namespace's loopback is the node's address here.
  server.create('pods', rawPod('bulkhead-system', 'bulkhead-n1', { labels: { 'app.kubernetes.io/name': 'bulkhead' }, nodeName: 'n1', ips: ['127.0.0.1'], hostNetwork: true }));
  server.create('networkpolicies', rawPolicy('default', 'backend-from-frontend', {
    podSelector: { matchLabels: { app: 'backend' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 'http' }] }],
  }));
  kubeconfig = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate, token: 'node' }]);

  // The API server listens on this namespace's loopback; the node reaches it at the same address through a Unix
  // socket (a path, which every network namespace sees) and socat, so one kubeconfig serves both sides.
  const socket = join(netns.dir, 'apiserver.sock');
  tunnel = createServer((client) => {
    const upstream = createConnection(server.port, '127.0.0.1');
    tunnelConnections.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      tunnelConnections.delete(client);
      tunnelConnections.delete(upstream);
    };
    for (const socket of [client, upstream]) socket.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => tunnel.listen(socket, resolve));
  startInNamespace(['socat', `TCP-LISTEN:${server.port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${socket}`]);

  const agent = startInNamespace(
    [process.execPath, '--import', 'tsx', MAIN, 'agent', '--node-name', 'n1', '--kubeconfig', kubeconfig, '--cni-results', join(netns.dir, 'no-cni-results'),
      '--http-address', '127.0.0.1', '--log-format', 'json'],
    (text) => (agentLog += text),
  );
  const exited = new Promise<never>((_resolve, reject) => agent.on('exit', (code) => reject(new Error(`the agent exited (${code}):\n${agentLog}`))));
  await Promise.race([vi.waitFor(() => expect(agentResourceVersion()).toBe(server.resourceVersion), { timeout: 60_000, interval: 100 }), exited]);
}, 90_000);

afterAll(async () => {
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Each its own process group: socat's forked children (one a connection) go with it.
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
  for (const connection of tunnelConnections) connection.destroy();
  await new Promise((resolve) => tunnel.close(resolve));
  await server.close();
});

describe('bulkhead explain on a node, with the real agent watching the API', () => {
  it("finds the agent of the pod's node and shows its chains; after the policy is deleted, shows them gone", async () => {
    const before = await onNode('explain', '--kubeconfig', kubeconfig, 'pod', 'default/backend');
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);
    expect(before.stdout).toContain('Ingress: isolated by default/backend-from-frontend\n');
    expect(before.stdout).toContain('\nNode n1 (agent http://127.0.0.1:9650, pod bulkhead-system/bulkhead-n1)\n  Ingress of default/backend: chain in the kernel (');
    expect(before.stdout).toContain('\n    counter name "drop_in_default_backend" drop\n');

    server.delete('networkpolicies', 'default', 'backend-from-frontend');
    await vi.waitFor(() => expect(agentResourceVersion()).toBe(server.resourceVersion), { timeout: 30_000, interval: 100 });
    const after = await onNode('explain', '--kubeconfig', kubeconfig, 'pod', 'default/backend');
    expect(after.stderr).toBe('');
    expect(after.stdout).toContain('Ingress: not isolated');
    expect(after.stdout).toContain('\n  Ingress of default/backend: no chain in the kernel; dropped 0 packets (0 bytes)\n');
  });

  it("prints the agent's answer for a connection with -o json: the verdict and both local ends", async () => {
    const run = await onNode('explain', '--kubeconfig', kubeconfig, '-o', 'json', 'default/frontend', 'default/backend', 'http');
    expect(run.stderr).toBe('');
    const answer = JSON.parse(run.stdout) as { allowed: boolean; port: number; node: { name: string; from?: unknown; to?: unknown } };
    expect([answer.allowed, answer.port, answer.node.name, answer.node.from !== undefined, answer.node.to !== undefined]).toEqual([true, 8080, 'n1', true, true]);
  });
});
