// `npx tsx test/lab/lab-cli.ts up|apply|delete|down|status`: a lab that stays up for a person to poke at
// (make lab-up / lab-down), with a Kubernetes API server that one Bulkhead agent per node watches.
//   up [--pods FILE] [--nodes N]   builds the lab, starts each pod's servers, the API server and the agents, leaves
//                                  it all running, prints its status
//   apply FILE|DIR...              `kubectl apply -f` to the running lab's API server; returns once every agent
//   delete FILE|DIR...             enforces the result (`kubectl delete -f` likewise)
//   down [PREFIX]                  removes that lab, or every lab whose owner has gone (the one `up` left, leftovers)
//   status                         prints every lab: nodes, pods, addresses, servers, and commands to try
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Protocol } from '../../src/model/types.js';
import { applyObjects, appliedResourceVersion, deleteObjects, type ManifestObject, readManifestObjects } from '../kube/apply.js';
import { latestResourceVersion, remoteStore } from '../kube/remote-store.js';
import { RESOURCES } from '../kube/resources.js';
import { AgentLog } from './agent-log.js';
import { LabAgent, waitForResourceVersion } from './agents.js';
import { apiSocketPath, forwardApiIntoNodes, NODE_API_PORT, podObjects, writeNodeKubeconfig } from './api.js';
import { createLab, destroyAll, type Lab, type Place } from './lab.js';
import { listStates, type LabState } from './state.js';
import type { Proto } from './traffic.js';

const DEMO_PODS = fileURLToPath(new URL('./demo-pods.yaml', import.meta.url));
const API_PROCESS = fileURLToPath(new URL('./apiserver-process.ts', import.meta.url));
const API_START_TIMEOUT_MS = 15_000;
const IN_FORCE_TIMEOUT_MS = 20_000;

const served = z.string().regex(/^(tcp|udp|sctp)\/\d{1,5}$/, 'a server is proto/port, e.g. tcp/80');
const podList = z.object({
  pods: z.array(
    z.object({
      namespace: z.string(),
      name: z.string(),
      node: z.string(),
      labels: z.record(z.string(), z.string()).default({}),
      serve: z.array(served).default([]),
    }),
  ),
  outside: z.object({ serve: z.array(served).default([]) }).default({ serve: [] }),
});

type PodList = z.infer<typeof podList>;

function readPodList(file: string): PodList {
  const parsed = podList.safeParse(parseYaml(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`${file} is not a pod list:\n${problems.join('\n')}`);
  }
  return parsed.data;
}

function splitServed(entry: string): { proto: Proto; port: number } {
  const [proto, port] = entry.split('/');
  return { proto: proto as Proto, port: Number(port) };
}

async function up(options: { pods: string; nodes: number }): Promise<void> {
  const list = readPodList(options.pods);
  const running = listStates().filter((state) => state.detached);
  if (running.length > 0) {
    throw new Error(`a lab is already up (${running.map((s) => s.prefix).join(', ')}); run \`lab-cli down\` first`);
  }
  const started = performance.now();
  const lab = await createLab({ nodes: options.nodes, outside: true });
  const serve = async (where: Place, entries: readonly string[]) => {
    await Promise.all(entries.map(splitServed).map(({ proto, port }) => lab.startServer(where, port, proto)));
  };
  await Promise.all([
    ...list.pods.map(async (spec) => serve(await lab.addPod(spec), spec.serve)),
    ...(lab.outside ? [serve(lab.outside, list.outside.serve)] : []),
  ]);
  await startControlPlane(lab, list);
  await lab.detach();
  console.log(`lab ${lab.prefix} is up (${Math.round(performance.now() - started)} ms)\n`);
  printStatus(listStates().filter((state) => state.prefix === lab.prefix));
  printPolicyExamples(lab);
}

function caFile(dir: string): string {
  return join(dir, 'apiserver-ca.pem');
}

/**
 * The API server (a process of its own in node1's namespace, as on a kubeadm control-plane node; its unix socket
 * reaches every node through their forwarders), the lab's pods registered in it as the kubelet reports them
 * (node, addresses, served ports as container ports), and one Bulkhead agent per node watching it.
 */
async function startControlPlane(lab: Lab, list: PodList): Promise<void> {
  const controlPlane = lab.nodes[0];
  if (controlPlane === undefined) throw new Error('a lab without nodes has no control plane');
  const socket = apiSocketPath(lab);
  const server = await lab.runInNode(controlPlane, [process.execPath, '--import', import.meta.resolve('tsx'), API_PROCESS, socket, caFile(lab.dir)], { name: 'apiserver' });
  const caCertificate = await untilFile(caFile(lab.dir), server.stderrPath);
  await forwardApiIntoNodes(lab, socket);
  const store = remoteStore({ socketPath: socket, caCertificate });
  let resourceVersion = 0;
  for (const spec of list.pods) {
    const ports = spec.serve.map(splitServed).map(({ proto, port }) => ({ containerPort: port, protocol: proto.toUpperCase() as Protocol }));
    const pod = lab.pod(spec.namespace, spec.name);
    const applied = await applyObjects(store, podObjects(lab.node(pod.node), pod, { ports }));
    resourceVersion = Math.max(resourceVersion, appliedResourceVersion(applied));
  }
  const kubeconfig = await writeNodeKubeconfig(lab.dir, caCertificate);
  const agents = await Promise.all(lab.nodes.map((node) => LabAgent.start(lab, node, { source: { kind: 'api', kubeconfig } })));
  await waitForResourceVersion(agents, resourceVersion, IN_FORCE_TIMEOUT_MS);
}

async function untilFile(path: string, stderrPath: string): Promise<string> {
  const deadline = Date.now() + API_START_TIMEOUT_MS;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`the API server did not start within ${API_START_TIMEOUT_MS} ms: ${readFileSync(stderrPath, 'utf8').trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return readFileSync(path, 'utf8');
}

function printPolicyExamples(lab: Lab): void {
  const node = lab.nodes[0];
  console.log(`\npolicies (an API server runs at https://127.0.0.1:${NODE_API_PORT} in every node; one Bulkhead agent per node watches it)`);
  console.log('  npx tsx test/lab/lab-cli.ts apply examples/three-tier/steps/01-deny-ingress-to-backend/');
  console.log('  npx tsx test/lab/lab-cli.ts delete examples/three-tier/steps/01-deny-ingress-to-backend/');
  console.log(`  ip netns exec ${node?.netns ?? ''} nft list table inet bulkhead`);
  console.log(`  ip netns exec ${node?.netns ?? ''} curl -s localhost:9650/metrics | grep ^bulkhead_`);
  console.log(`  ip netns exec ${node?.netns ?? ''} node dist/cli/main.js agent explain pod default/backend`);
  console.log(`  agent logs: ${lab.nodes.map((n) => n.logDir).join(' ')}`);
}

/** The lab `up` left running (or the one named), for apply and delete. */
function runningLab(prefix: string | undefined): LabState {
  const running = listStates().filter((state) => state.detached && (prefix === undefined || state.prefix === prefix));
  if (running.length === 0) throw new Error(prefix === undefined ? 'no lab is up (`lab-cli up` builds one)' : `no lab ${prefix} is up`);
  if (running.length > 1) throw new Error(`several labs are up (${running.map((s) => s.prefix).join(', ')}); name one with --lab`);
  return running[0]!;
}

/** The manifests of files and directories (their .yaml, .yml and .json files, in name order), as kubectl -f reads them. */
function manifestObjects(paths: readonly string[]): ManifestObject[] {
  return paths.flatMap((path) => {
    const files = statSync(path).isDirectory()
      ? readdirSync(path).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => join(path, f))
      : [path];
    return files.flatMap((file) => readManifestObjects(readFileSync(file, 'utf8'), file));
  });
}

function kubectlName(object: ManifestObject): string {
  const { kind, apiVersion } = RESOURCES[object.resource];
  const group = apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : '';
  return `${kind.toLowerCase()}${group}/${object.object.metadata.name}`;
}

async function change(verb: 'apply' | 'delete', paths: readonly string[], options: { lab?: string }): Promise<void> {
  const state = runningLab(options.lab);
  const server = { socketPath: apiSocketPath(state), caCertificate: readFileSync(caFile(state.dir), 'utf8') };
  const store = remoteStore(server);
  const objects = manifestObjects(paths);
  const started = performance.now();
  if (verb === 'apply') {
    const applied = await applyObjects(store, objects);
    applied.forEach((result, i) => console.log(`${kubectlName(objects[i]!)} ${result.action}`));
  } else {
    const deleted = new Set(await deleteObjects(store, objects));
    for (const object of objects) {
      const key = `${object.object.metadata.namespace ?? ''}/${object.object.metadata.name}`;
      console.log(`${kubectlName(object)} ${deleted.has(key) ? 'deleted' : 'not found'}`);
    }
  }
  const resourceVersion = await latestResourceVersion(server);
  await untilInForce(state, resourceVersion);
  console.log(`in force on ${state.nodes.map((n) => n.name).join(', ')} at resourceVersion ${resourceVersion} (${Math.round(performance.now() - started)} ms)`);
}

/** Until the agent of every node (its latest log) says it enforces `resourceVersion` or later. */
async function untilInForce(state: LabState, resourceVersion: number): Promise<void> {
  const logs = state.nodes.map((node) => {
    const latest = readdirSync(node.logDir)
      .filter((f) => f.startsWith('bulkhead-agent-') && f.endsWith('.out'))
      .map((f) => join(node.logDir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    if (latest === undefined) throw new Error(`${node.name} has no agent log in ${node.logDir}`);
    return { node: node.name, log: new AgentLog(latest) };
  });
  const deadline = Date.now() + IN_FORCE_TIMEOUT_MS;
  for (;;) {
    const behind = logs.filter(({ log }) => (log.read(), (log.resourceVersion ?? -1) < resourceVersion));
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`not in force within ${IN_FORCE_TIMEOUT_MS} ms on ${behind.map(({ node, log }) => `${node} (at ${log.resourceVersion ?? 'nothing'}; ${log.path})`).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function down(prefix: string | undefined): void {
  const removed = destroyAll(prefix);
  console.log(removed.length === 0 ? 'no lab to remove' : `removed ${removed.join(', ')}`);
}

function printStatus(states: readonly LabState[]): void {
  if (states.length === 0) {
    console.log('no lab is up (`lab-cli up` builds one)');
    return;
  }
  for (const state of states) {
    const kind = state.detached ? 'left up by lab-cli' : `owned by process ${state.owner.pid}`;
    console.log(`lab ${state.prefix} (${kind}), files in ${state.dir}`);
    console.log('\nnodes');
    for (const node of state.nodes) {
      console.log(
        `  ${node.name.padEnd(8)} netns ${node.netns.padEnd(18)} underlay ${node.underlayIPv4} ${node.underlayIPv6}  pods ${node.podCIDRv4} ${node.podCIDRv6}`,
      );
      console.log(`  ${''.padEnd(8)} CNI results ${node.cniResultsDir}`);
    }
    const outside = state.outside;
    if (outside !== undefined) {
      const servers = state.servers.filter((s) => s.netns === outside.netns).map((s) => `${s.proto}/${s.port}`);
      console.log(`\noutside host: netns ${outside.netns}, addresses ${[...outside.ipv4, ...outside.ipv6].join(' ')}`);
      console.log(`  serves ${servers.join(' ') || '-'}; reachable from pods only through their node's masquerade`);
    }
    console.log('\npods');
    for (const pod of state.pods) {
      const servers = state.servers.filter((s) => s.netns === pod.netns).map((s) => `${s.proto}/${s.port}`);
      const labels = Object.entries(pod.labels).map(([k, v]) => `${k}=${v}`);
      console.log(
        `  ${`${pod.namespace}/${pod.name}`.padEnd(22)} ${pod.node.padEnd(7)} ${pod.ipv4.padEnd(13)} ${pod.ipv6.padEnd(20)} ${pod.hostVeth}  serves ${servers.join(' ') || '-'}  labels ${labels.join(',') || '-'}`,
      );
    }
    printExamples(state);
    console.log('');
  }
}

function printExamples(state: LabState): void {
  const client = state.pods[0];
  const podAt = (netns: string) => state.pods.find((pod) => pod.netns === netns);
  // Across nodes first, then port 80, then the lowest: the examples then show VXLAN at work on a familiar port.
  const rank = (port: number) => (port === 80 ? 0 : port);
  const candidates = state.servers
    .filter((s) => s.netns !== client?.netns && podAt(s.netns) !== undefined)
    .sort((a, b) => Number(podAt(a.netns)?.node === client?.node) - Number(podAt(b.netns)?.node === client?.node) || rank(a.port) - rank(b.port));
  const tcp = candidates.find((s) => s.proto === 'tcp');
  const udp = candidates.find((s) => s.proto === 'udp');
  const outsideTcp = state.servers.find((s) => s.proto === 'tcp' && s.netns === state.outside?.netns);
  const node = state.nodes[0];
  console.log('\ntry');
  if (client !== undefined) {
    const tcpPod = tcp && podAt(tcp.netns);
    if (tcp && tcpPod) {
      console.log(`  ip netns exec ${client.netns} curl -s http://${tcpPod.ipv4}:${tcp.port}/`);
      console.log(`  ip netns exec ${client.netns} curl -s http://[${tcpPod.ipv6}]:${tcp.port}/`);
    }
    const udpPod = udp && podAt(udp.netns);
    if (udp && udpPod) console.log(`  echo hi | ip netns exec ${client.netns} socat -t1 - UDP:${udpPod.ipv4}:${udp.port}`);
    if (outsideTcp && state.outside) {
      console.log(`  ip netns exec ${client.netns} curl -s http://${state.outside.ipv4[0] ?? ''}:${outsideTcp.port}/`);
    }
  }
  if (node !== undefined) {
    console.log(`  ip netns exec ${node.netns} nft list ruleset`);
    console.log(`  ip netns exec ${node.netns} conntrack -L`);
    console.log(`  ls ${node.cniResultsDir}`);
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command('lab-cli').description('the Bulkhead network-namespace lab, left up for people');
program
  .command('up')
  .description('build a lab, start its pods and servers, an API server and one agent per node, and leave it running')
  .option('--pods <file>', 'YAML or JSON pod list (see demo-pods.yaml)', DEMO_PODS)
  .option('--nodes <n>', 'number of nodes', positiveInteger, 2)
  .action(up);
program
  .command('apply')
  .argument('<paths...>', 'manifest files or directories (their .yaml, .yml, .json files)')
  .option('--lab <prefix>', 'the lab, when several are up')
  .description('kubectl apply -f to the running lab\'s API server; returns once every agent enforces it')
  .action((paths: string[], options: { lab?: string }) => change('apply', paths, options));
program
  .command('delete')
  .argument('<paths...>', 'manifest files or directories')
  .option('--lab <prefix>', 'the lab, when several are up')
  .description('kubectl delete -f on the running lab\'s API server; returns once every agent enforces it')
  .action((paths: string[], options: { lab?: string }) => change('delete', paths, options));
program
  .command('down')
  .argument('[prefix]', 'the lab to remove; default: every lab whose owner has gone')
  .description('remove the lab left up, and leftovers of crashed runs')
  .action(down);
program
  .command('status')
  .description('print every lab: nodes, pods, addresses, servers, commands to try')
  .action(() => printStatus(listStates()));

try {
  await program.parseAsync(process.argv);
  // The lab's processes (agents, the traffic engine) run on in their own process groups; nothing here waits for them.
  process.exit(0);
} catch (error) {
  console.error(`lab-cli: ${(error as Error).message}`);
  process.exit(1);
}
