// `bulkhead agent explain` against a real agent: `bulkhead agent --manifests` in a network namespace of its own (its
// own nftables ruleset, its own loopback), asked from inside that namespace as `kubectl exec` into the agent's pod
// would: the explanation as the agent sees the cluster, and the chains it put in the kernel.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useThrowawayNetns } from '../support/netns.js';
import { MAIN, REPO, runProcess } from './cli-cluster-helpers.js';

// The namespace takes the agent's ruleset with it.
const netns = useThrowawayNetns('bh-cli-explain');

const CLUSTER = `apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: default, labels: {app: frontend}}
spec: {nodeName: n1, containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIPs: [{ip: 10.244.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: default, labels: {app: backend}}
spec: {nodeName: n1, containers: [{name: api, image: api, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIPs: [{ip: 10.244.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: remote, namespace: default, labels: {app: remote}}
spec: {nodeName: n2, containers: [{name: x, image: x}]}
status: {phase: Running, podIPs: [{ip: 10.244.2.10}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-from-frontend, namespace: default}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}], ports: [{port: http}]}]
`;

let agent: ChildProcess | undefined;
let agentLog = '';

/** `bulkhead ARGS` inside the agent's network namespace. */
const inNamespace = (...args: string[]) => runProcess('ip', ['netns', 'exec', netns.name, process.execPath, '--import', 'tsx', MAIN, ...args]);

beforeAll(async () => {
  const manifests = join(netns.dir, 'manifests');
  await mkdir(manifests);
  await writeFile(join(manifests, 'cluster.yaml'), CLUSTER);
  const child = spawn(
    'ip',
    ['netns', 'exec', netns.name, process.execPath, '--import', 'tsx', MAIN, 'agent', '--node-name', 'n1', '--manifests', manifests,
      '--cni-results', join(netns.dir, 'no-cni-results'), '--http-address', '127.0.0.1', '--http-port', '9650', '--log-format', 'json'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent applied no rules in 60 s:\n${agentLog}`)), 60_000);
    const read = (chunk: Buffer) => {
      agentLog += chunk.toString('utf8');
      if (agentLog.includes('"msg":"rules applied"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the agent exited (${code}):\n${agentLog}`));
    });
  });
}, 90_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    agent.kill('SIGTERM');
    await exited;
  }
});

describe('bulkhead agent explain, against a real agent', () => {
  it("shows a local pod's verdict and the rules the agent put in the kernel", async () => {
    const { code, stdout, stderr } = await inNamespace('agent', 'explain', 'pod', 'default/backend');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Ingress: isolated by default/backend-from-frontend\n');
    expect(stdout).toContain('\nNode n1 (agent http://127.0.0.1:9650)\n  Ingress of default/backend: chain in the kernel (');
    expect(stdout).toMatch(/\n {4}ip saddr @peer4_\w+ meta l4proto \. th dport \{ tcp \. 8080 \} accept comment "default\/backend-from-frontend ingress\[0\]"\n/);
    expect(stdout).toContain('\n    counter name "drop_in_default_backend" drop\n');
    expect(stdout).toContain('\n  Egress of default/backend: no chain in the kernel; dropped 0 packets (0 bytes)\n');
  });

  it('answers a connection by port name as JSON, with the view of each local end', async () => {
    const { code, stdout } = await inNamespace('agent', 'explain', '-o', 'json', 'default/frontend', 'default/backend', 'http');
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as {
      allowed: boolean;
      port: number;
      portName: string;
      node: { name: string; from?: { rulesInKernel: { egress: boolean } }; to?: { rulesInKernel: { ingress: boolean } } };
    };
    expect([answer.allowed, answer.port, answer.portName, answer.node.name]).toEqual([true, 8080, 'http', 'n1']);
    expect(answer.node.from?.rulesInKernel.egress).toBe(false);
    expect(answer.node.to?.rulesInKernel.ingress).toBe(true);
  });

  it('a pod of another node has no chains here; a pod the agent does not know is one line, exit 2', async () => {
    const remote = await inNamespace('agent', 'explain', 'pod', 'default/remote');
    expect(remote.stdout).toContain('\nNode n1 (agent http://127.0.0.1:9650)\n  default/remote is not on this node: no chains of it here\n');
    const unknown = await inNamespace('agent', 'explain', 'pod', 'default/nobody');
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe('bulkhead: the agent at http://127.0.0.1:9650 answered 404: no pod default/nobody known to this agent (expected NAMESPACE/NAME or an IP)\n');
    expect(unknown.code).toBe(2);
  });
});
