// `npx tsx test/lab/lab-cli.ts up|down|status`: a lab that stays up for a person to poke at (make lab-up / lab-down).
//   up [--pods FILE] [--nodes N]   builds the lab, starts each pod's servers, leaves it running, prints its status
//   down [PREFIX]                  removes that lab, or every lab whose owner has gone (the one `up` left, leftovers)
//   status                         prints every lab: nodes, pods, addresses, servers, and commands to try
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Protocol } from '../../src/model/types.js';
import { namespaceText, podText } from '../dataplane/manifest-text.js';
import { createLab, destroyAll, type Lab, type Place } from './lab.js';
import { listStates, type LabState } from './state.js';
import type { Proto } from './traffic.js';

const DEMO_PODS = fileURLToPath(new URL('./demo-pods.yaml', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

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
  const manifests = await startAgents(lab, list);
  await lab.detach();
  console.log(`lab ${lab.prefix} is up (${Math.round(performance.now() - started)} ms)\n`);
  printStatus(listStates().filter((state) => state.prefix === lab.prefix));
  printPolicyExamples(lab, manifests);
}

/**
 * One Bulkhead agent per node, all watching one manifests directory that already holds the lab's namespaces and
 * pods (with their nodes, addresses and served ports as container ports): a person adds NetworkPolicies to it.
 */
async function startAgents(lab: Lab, list: PodList): Promise<string> {
  const dir = join(lab.dir, 'manifests');
  mkdirSync(dir, { recursive: true });
  const namespaces = [...new Set(list.pods.map((p) => p.namespace))].map((ns) => namespaceText(ns, {}));
  const pods = list.pods.map((spec) => {
    const pod = lab.pod(spec.namespace, spec.name);
    const ports = spec.serve.map(splitServed).map(({ proto, port }) => ({ containerPort: port, protocol: proto.toUpperCase() as Protocol }));
    return podText({ namespace: spec.namespace, name: spec.name, labels: spec.labels, nodeName: spec.node, hostNetwork: false, ips: [pod.ipv4, pod.ipv6], ports });
  });
  writeFileSync(join(dir, 'cluster.yaml'), [...namespaces, ...pods].join('---\n'));
  for (const node of lab.nodes) {
    await lab.runInNode(node, ['node', CLI, 'agent', '--node-name', node.name, '--manifests', dir, '--cni-results', node.cniResultsDir], { name: 'bulkhead-agent' });
  }
  return dir;
}

function printPolicyExamples(lab: Lab, manifests: string): void {
  console.log('\npolicies (one Bulkhead agent runs in each node; they enforce what this directory holds)');
  console.log(`  cp examples/three-tier/steps/01-deny-ingress-to-backend/*.yaml ${manifests}/`);
  console.log(`  node dist/cli/main.js explain -f ${manifests} default/frontend default/backend 80/TCP`);
  console.log(`  ip netns exec ${lab.nodes[0]?.netns ?? ''} nft list table inet bulkhead`);
  console.log(`  agent logs: ${lab.nodes.map((n) => n.logDir).join(' ')}`);
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
  .description('build a lab, start its pods and servers, and leave it running')
  .option('--pods <file>', 'YAML or JSON pod list (see demo-pods.yaml)', DEMO_PODS)
  .option('--nodes <n>', 'number of nodes', positiveInteger, 2)
  .action(up);
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
