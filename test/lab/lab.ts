// A Flannel-like cluster in network namespaces, for every real-packet test and for `make demo`:
//
//   <prefix>-underlay   bridge br0: the nodes' and the outside host's eth0 (172.31.255.0/24, fd00:ff::/64)
//   <prefix>-nodeI      eth0 on the underlay, cni0 bridge (10.244.I.1/24, fd00:10:244:I::1/64), flannel.1 VXLAN,
//                       forwarding and br_netfilter on, masquerade to the outside (tables ip/ip6 labnat)
//   <prefix>-NS.NAME    a pod: eth0, a veth whose host side (vethXXXXXXXX) sits on its node's cni0
//   <prefix>-outside    a host beyond the nodes, with documentation-range addresses and no route to pods
//
// Everything lives in namespaces the lab creates; nothing is added to the root namespace.
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import {
  CLUSTER_CIDR_V4,
  CLUSTER_CIDR_V6,
  FIRST_POD_HOST,
  LAST_POD_HOST,
  MAX_NODES,
  OUTSIDE_ADDRESSES_V4,
  OUTSIDE_ADDRESSES_V6,
  OUTSIDE_ROUTES_V4,
  OUTSIDE_ROUTES_V6,
  OUTSIDE_UNDERLAY_V4,
  OUTSIDE_UNDERLAY_V6,
  UNDERLAY_PREFIX_V4,
  UNDERLAY_PREFIX_V6,
  VXLAN_ID,
  VXLAN_PORT,
  nodeAddressing,
  podAddresses,
  randomHex,
  randomMAC,
} from './addressing.js';
import { cniCacheFileName, cniCacheJSON } from './cni-cache.js';
import { bridgeBatch, inNetns, ipBatch, mustRun, runCommand, type CommandResult } from './commands.js';
import type { LabNode, LabPod, OutsideHost, Place, PodSpec, ServerRecord } from './places.js';
import {
  STATE_ROOT,
  destroyCrashedLabs,
  identify,
  labNetnsNames,
  pidsIn,
  stateFile,
  teardownSync,
  writeState,
  type LabState,
  type ProcessIdentity,
} from './state.js';
import { TrafficEngine, type Outcome, type Proto } from './traffic.js';

export type { LabNode, LabPod, OutsideHost, Place, PodSpec, ServerRecord } from './places.js';
export type { Outcome, Proto } from './traffic.js';
export type { CommandResult } from './commands.js';
export { destroyAll } from './state.js';

export interface LabOptions {
  /** How many nodes (default 2). */
  readonly nodes?: number;
  /** Whether to build the outside host (default true). */
  readonly outside?: boolean;
}

export interface ProbeOptions {
  /** Default 400 ms: in a namespace lab an answer comes in well under a millisecond. */
  readonly timeoutMs?: number;
  /** Send from this address of the prober (e.g. one added with addSpoofedAddress). */
  readonly sourceIP?: string;
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
}

export interface LabServer {
  readonly where: Place;
  readonly port: number;
  readonly proto: Proto;
  /** Source addresses of the connections, datagrams and SCTP INITs it received, oldest first. */
  peers(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface LabProcess {
  readonly pid: number;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  readonly exited: Promise<ProcessExit>;
  /** SIGTERM, then SIGKILL if it has not exited within a second. */
  stop(): Promise<ProcessExit>;
}

export interface Lab {
  readonly prefix: string;
  /** /run/bulkhead-lab/<prefix>: per-node CNI caches and logs. */
  readonly dir: string;
  readonly nodes: readonly LabNode[];
  readonly outside: OutsideHost | undefined;
  readonly pods: readonly LabPod[];
  node(name: string): LabNode;
  pod(namespace: string, name: string): LabPod;
  addPod(spec: PodSpec): Promise<LabPod>;
  deletePod(pod: LabPod): Promise<void>;
  /** Adds an address no CNI gave the pod to its eth0; returns the pod as it now is. */
  addSpoofedAddress(pod: LabPod, ip: string): Promise<LabPod>;
  startServer(where: Place, port: number, proto: Proto): Promise<LabServer>;
  probe(from: Place, toIP: string, port: number, proto: Proto, options?: ProbeOptions): Promise<Outcome>;
  exec(where: Place, argv: readonly string[], options?: ExecOptions): Promise<CommandResult>;
  /** A script that runs `nft` in the node's namespace, as an agent there runs it (an NftRunner's nftPath); it goes with the lab. */
  nftPath(node: LabNode): string;
  /** Starts a long-running process in a node's namespace (the agent, a hostNetwork pod); logs go to the node's logDir. */
  runInNode(node: LabNode, argv: readonly string[], options?: { name?: string; env?: NodeJS.ProcessEnv }): Promise<LabProcess>;
  /** Leaves the lab running after this process exits (lab-cli up); `destroyAll` removes it later. */
  detach(): Promise<void>;
  /** Kills every process and deletes every namespace, device and file of the lab. Idempotent. */
  destroy(): Promise<void>;
}

const DEFAULT_PROBE_TIMEOUT_MS = 400;
const STOP_GRACE_MS = 1_000;
const ENTER_NETNS_TIMEOUT_MS = 5_000;
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const nodeCount = options.nodes ?? 2;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES) {
    throw new Error(`createLab: nodes must be 1..${MAX_NODES}, got ${nodeCount}`);
  }
  await checkPrerequisites();
  destroyCrashedLabs();
  const lab = new NetnsLab(freshPrefix(), nodeCount, options.outside ?? true);
  try {
    await lab.build();
  } catch (error) {
    await lab.destroy();
    throw error;
  }
  return lab;
}

async function checkPrerequisites(): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('must run as root (network namespaces, nftables, raw sockets)');
  for (const tool of ['ip', 'bridge', 'nft', 'sysctl', 'nsenter']) {
    if (findExecutable(tool) === undefined) problems.push(`\`${tool}\` is not installed`);
  }
  if (findExecutable('python3') === undefined) problems.push('`python3` is not installed (the traffic engine)');
  if (problems.length === 0) {
    const nft = await runCommand(['nft', 'list', 'tables']);
    if (nft.code !== 0) problems.push(`nft cannot talk to the kernel: ${nft.stderr.trim()}`);
  }
  if (problems.length > 0) {
    throw new Error(`The network-namespace lab cannot run here:\n- ${problems.join('\n- ')}\n(run \`make deps\` as root)`);
  }
}

function findExecutable(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

function freshPrefix(): string {
  for (;;) {
    const prefix = `bh${randomHex(4)}`;
    if (labNetnsNames(prefix).length === 0 && !existsSync(stateFile(prefix))) return prefix;
  }
}

// -------------------------------------------------------------------------------------------- cleanup on exit

const liveLabs = new Set<NetnsLab>();
let exitHooksInstalled = false;

/**
 * Tears down every live lab of this process when it ends: on a normal exit, on SIGINT/SIGTERM/SIGHUP, and on an
 * uncaught error (Node then exits and emits 'exit', so no error handler that would change how errors end the
 * process is needed). Exit handlers cannot wait, so this teardown is synchronous.
 */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', tearDownLiveLabs);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      tearDownLiveLabs();
      process.off(signal, onSignal);
      // Ours was the only listener: end the process the way the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function tearDownLiveLabs(): void {
  for (const lab of liveLabs) {
    try {
      lab.destroySync();
    } catch (error) {
      // Keep going: the other labs still deserve their teardown, and destroyAll can finish this one.
      console.error(`lab ${lab.prefix}: teardown failed: ${(error as Error).message}`);
    }
  }
}

// -------------------------------------------------------------------------------------------- the lab

class NetnsLab implements Lab {
  readonly dir: string;
  readonly nodes: LabNode[];
  readonly outside: OutsideHost | undefined;
  private readonly podsByNetns = new Map<string, LabPod>();
  private readonly servers = new Map<string, ServerRecord>();
  /** Per node: host numbers in use, and the last one given (host-local IPAM hands them out round-robin). */
  private readonly hostsInUse = new Map<string, Set<number>>();
  private readonly lastHost = new Map<string, number>();
  private readonly processes = new Set<{ identity: ProcessIdentity; exited: Promise<ProcessExit> }>();
  private readonly owner = identify(process.pid);
  private engine: TrafficEngine | undefined;
  private engineIdentity: ProcessIdentity | undefined;
  private detached = false;
  private destroyed = false;

  constructor(
    readonly prefix: string,
    nodeCount: number,
    withOutside: boolean,
  ) {
    this.dir = join(STATE_ROOT, prefix);
    this.nodes = Array.from({ length: nodeCount }, (_, i) => this.describeNode(i + 1));
    this.outside = withOutside
      ? {
          kind: 'outside',
          netns: `${prefix}-outside`,
          label: 'outside',
          underlayIPv4: OUTSIDE_UNDERLAY_V4,
          underlayIPv6: OUTSIDE_UNDERLAY_V6,
          ipv4: [...OUTSIDE_ADDRESSES_V4],
          ipv6: [...OUTSIDE_ADDRESSES_V6],
        }
      : undefined;
    for (const node of this.nodes) this.hostsInUse.set(node.name, new Set());
  }

  get pods(): LabPod[] {
    return [...this.podsByNetns.values()];
  }

  private get underlayNetns(): string {
    return `${this.prefix}-underlay`;
  }

  private describeNode(index: number): LabNode {
    const name = `node${index}`;
    const nodeDir = join(this.dir, name);
    return {
      kind: 'node',
      name,
      index,
      netns: `${this.prefix}-${name}`,
      label: name,
      ...nodeAddressing(index),
      cniBridgeMAC: randomMAC(),
      cniResultsDir: join(nodeDir, 'cni-results'),
      logDir: join(nodeDir, 'logs'),
    };
  }

  node(name: string): LabNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`lab ${this.prefix} has no node ${name}`);
    return node;
  }

  pod(namespace: string, name: string): LabPod {
    const pod = this.podsByNetns.get(this.podNetns(namespace, name));
    if (pod === undefined) throw new Error(`lab ${this.prefix} has no pod ${namespace}/${name}`);
    return pod;
  }

  // ------------------------------------------------------------------------------------------ building

  async build(): Promise<void> {
    // The marker first: whatever happens next, destroyAll can find and remove it.
    mkdirSync(this.dir, { recursive: true });
    this.saveState();
    liveLabs.add(this);
    installExitHooks();
    for (const node of this.nodes) {
      mkdirSync(node.cniResultsDir, { recursive: true });
      mkdirSync(node.logDir, { recursive: true });
    }
    this.engine = TrafficEngine.start(join(this.dir, 'traffic.log'));
    this.engineIdentity = identify(this.engine.pid);
    this.saveState();

    const infra = [this.underlayNetns, ...this.nodes.map((n) => n.netns), ...(this.outside ? [this.outside.netns] : [])];
    await mustRun(['ip', '-batch', '-'], { input: infra.map((ns) => `netns add ${ns}`).join('\n') + '\n' });
    await Promise.all(infra.map((ns) => withoutDuplicateAddressDetection(ns)));
    await this.buildUnderlay();
    await Promise.all([...this.nodes.map((node) => this.buildNode(node)), this.buildOutside()]);
  }

  /** The underlay bridge, and one veth per host whose far end is created directly in that host's namespace. */
  private async buildUnderlay(): Promise<void> {
    const hosts = [...this.nodes.map((n) => ({ port: `u-${n.name}`, netns: n.netns }))];
    if (this.outside) hosts.push({ port: 'u-outside', netns: this.outside.netns });
    await ipBatch(this.underlayNetns, [
      'link set lo up',
      'link add br0 type bridge',
      'link set br0 up',
      ...hosts.flatMap((h) => [
        `link add ${h.port} type veth peer name eth0 netns ${h.netns}`,
        `link set ${h.port} master br0`,
        `link set ${h.port} up`,
      ]),
    ]);
  }

  private async buildNode(node: LabNode): Promise<void> {
    const others = this.nodes.filter((n) => n !== node);
    const outsideRoutes = this.outside
      ? [
          ...OUTSIDE_ROUTES_V4.map((cidr) => `route add ${cidr} via ${OUTSIDE_UNDERLAY_V4} dev eth0`),
          ...OUTSIDE_ROUTES_V6.map((cidr) => `route add ${cidr} via ${OUTSIDE_UNDERLAY_V6} dev eth0`),
        ]
      : [];
    await Promise.all([
      // Forwarding, and bridged pod-to-pod frames through the inet hooks (br_netfilter), as on a kubelet node.
      inNetns(node.netns, [
        'sysctl',
        '-q',
        '-w',
        'net.ipv4.ip_forward=1',
        'net.ipv6.conf.all.forwarding=1',
        'net.bridge.bridge-nf-call-iptables=1',
        'net.bridge.bridge-nf-call-ip6tables=1',
      ]),
      this.installMasquerade(node),
      (async () => {
        await ipBatch(node.netns, [
          'link set lo up',
          `addr add ${node.underlayIPv4}/${UNDERLAY_PREFIX_V4} dev eth0`,
          `addr add ${node.underlayIPv6}/${UNDERLAY_PREFIX_V6} dev eth0`,
          'link set eth0 up',
          `link add cni0 address ${node.cniBridgeMAC} type bridge`,
          `addr add ${node.gatewayIPv4}/24 dev cni0`,
          `addr add ${node.gatewayIPv6}/64 dev cni0`,
          'link set cni0 up',
          `link add flannel.1 address ${node.flannelMAC} type vxlan id ${VXLAN_ID} local ${node.underlayIPv4} dev eth0 dstport ${VXLAN_PORT} nolearning`,
          `addr add ${node.flannelIPv4}/32 dev flannel.1`,
          `addr add ${node.flannelIPv6}/128 dev flannel.1`,
          'link set flannel.1 up',
          ...others.flatMap((o) => [
            `route add ${o.podCIDRv4} via ${o.flannelIPv4} dev flannel.1 onlink`,
            `neigh add ${o.flannelIPv4} lladdr ${o.flannelMAC} dev flannel.1 nud permanent`,
            `route add ${o.podCIDRv6} via ${o.flannelIPv6} dev flannel.1 onlink`,
            `neigh add ${o.flannelIPv6} lladdr ${o.flannelMAC} dev flannel.1 nud permanent`,
          ]),
          ...outsideRoutes,
        ]);
        if (others.length > 0) {
          await bridgeBatch(
            node.netns,
            others.map((o) => `fdb append ${o.flannelMAC} dev flannel.1 dst ${o.underlayIPv4}`),
          );
        }
      })(),
    ]);
  }

  /** Flannel's ip-masq: pod traffic leaving the cluster network leaves with the node's address. */
  private async installMasquerade(node: LabNode): Promise<void> {
    const file = join(this.dir, node.name, 'labnat.nft');
    writeFileSync(
      file,
      [
        'table ip labnat {',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    ip saddr ${CLUSTER_CIDR_V4} ip daddr != ${CLUSTER_CIDR_V4} oifname "eth0" masquerade`,
        '  }',
        '}',
        'table ip6 labnat {',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    ip6 saddr ${CLUSTER_CIDR_V6} ip6 daddr != ${CLUSTER_CIDR_V6} oifname "eth0" masquerade`,
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    await inNetns(node.netns, ['nft', '-f', file]);
  }

  private async buildOutside(): Promise<void> {
    const outside = this.outside;
    if (outside === undefined) return;
    await ipBatch(outside.netns, [
      'link set lo up',
      `addr add ${outside.underlayIPv4}/${UNDERLAY_PREFIX_V4} dev eth0`,
      `addr add ${outside.underlayIPv6}/${UNDERLAY_PREFIX_V6} dev eth0`,
      'link set eth0 up',
      // On lo: this kernel has no dummy devices, and a host answers for its addresses on any interface.
      ...outside.ipv4.map((ip) => `addr add ${ip}/32 dev lo`),
      ...outside.ipv6.map((ip) => `addr add ${ip}/128 dev lo`),
    ]);
  }

  // ------------------------------------------------------------------------------------------ pods

  private podNetns(namespace: string, name: string): string {
    return `${this.prefix}-${namespace}.${name}`;
  }

  async addPod(spec: PodSpec): Promise<LabPod> {
    this.assertUsable();
    if (!NAME_PATTERN.test(spec.namespace) || spec.namespace.includes('.')) {
      throw new Error(`addPod: namespace ${JSON.stringify(spec.namespace)} is not a DNS label`);
    }
    if (!NAME_PATTERN.test(spec.name)) throw new Error(`addPod: name ${JSON.stringify(spec.name)} is not a DNS name`);
    const node = this.node(spec.node);
    const netns = this.podNetns(spec.namespace, spec.name);
    if (this.podsByNetns.has(netns)) throw new Error(`addPod: pod ${spec.namespace}/${spec.name} exists`);

    const host = this.allocateHost(node);
    const { ipv4, ipv6 } = podAddresses(node.index, host);
    const containerId = randomHex(64);
    const pod: LabPod = {
      kind: 'pod',
      netns,
      label: `${spec.namespace}/${spec.name}`,
      namespace: spec.namespace,
      name: spec.name,
      labels: { ...spec.labels },
      node: node.name,
      ipv4,
      ipv6,
      spoofedAddresses: [],
      hostVeth: this.freshVethName(node),
      hostVethMAC: randomMAC(),
      podMAC: randomMAC(),
      containerId,
      uid: randomUUID(),
      cniCacheFile: join(node.cniResultsDir, cniCacheFileName(containerId)),
    };
    this.podsByNetns.set(netns, pod);
    try {
      await mustRun(['ip', 'netns', 'add', netns]);
      await ipBatch(node.netns, [
        `link add ${pod.hostVeth} address ${pod.hostVethMAC} type veth peer name eth0 address ${pod.podMAC} netns ${netns}`,
        `link set ${pod.hostVeth} master cni0`,
        `link set ${pod.hostVeth} up`,
      ]);
      await ipBatch(netns, [
        'link set lo up',
        `addr add ${ipv4}/24 dev eth0`,
        // A pod's own packets carry this address, so its neighbour solicitations need no validated link-local:
        // skipping DAD on it is enough, and saves a process per pod.
        `addr add ${ipv6}/64 dev eth0 nodad`,
        'link set eth0 up',
        `route add ${CLUSTER_CIDR_V4} via ${node.gatewayIPv4} dev eth0`,
        `route add ${CLUSTER_CIDR_V6} via ${node.gatewayIPv6} dev eth0`,
        `route add 0.0.0.0/0 via ${node.gatewayIPv4} dev eth0`,
        `route add ::/0 via ${node.gatewayIPv6} dev eth0`,
      ]);
      writeFileSync(
        pod.cniCacheFile,
        cniCacheJSON({
          containerId,
          podNamespace: pod.namespace,
          podName: pod.name,
          podUID: pod.uid,
          netnsPath: `/var/run/netns/${netns}`,
          bridgeMAC: node.cniBridgeMAC,
          hostVeth: pod.hostVeth,
          hostVethMAC: pod.hostVethMAC,
          podMAC: pod.podMAC,
          ipv4: `${ipv4}/24`,
          ipv6: `${ipv6}/64`,
          gatewayIPv4: node.gatewayIPv4,
          gatewayIPv6: node.gatewayIPv6,
        }),
        { mode: 0o600 },
      );
    } catch (error) {
      await this.removePod(pod);
      throw error;
    }
    this.saveState();
    return pod;
  }

  async deletePod(pod: LabPod): Promise<void> {
    this.assertUsable();
    if (this.podsByNetns.get(pod.netns) === undefined) throw new Error(`deletePod: no pod ${pod.label} in this lab`);
    await this.removePod(pod);
    this.saveState();
  }

  /** Undoes addPod, also halfway: servers, processes, veth (both ends), namespace, cache file, address. */
  private async removePod(pod: LabPod): Promise<void> {
    await this.requireEngine().request({ op: 'forget', netns: pod.netns });
    for (const [key, server] of this.servers) if (server.netns === pod.netns) this.servers.delete(key);
    for (const pid of pidsIn([pod.netns])) killQuietly(pid, 'SIGKILL');
    await runCommand(['ip', '-n', this.node(pod.node).netns, 'link', 'del', pod.hostVeth]);
    await runCommand(['ip', 'netns', 'delete', pod.netns]);
    rmSync(pod.cniCacheFile, { force: true });
    this.podsByNetns.delete(pod.netns);
    this.hostsInUse.get(pod.node)?.delete(Number(pod.ipv4.split('.')[3]));
  }

  nftPath(node: LabNode): string {
    const path = join(this.dir, node.name, 'nft-in-node');
    writeFileSync(path, `#!/bin/sh\nexec nsenter --net=/run/netns/${node.netns} nft "$@"\n`, { mode: 0o755 });
    return path;
  }

  async addSpoofedAddress(pod: LabPod, ip: string): Promise<LabPod> {
    this.assertUsable();
    const current = this.podsByNetns.get(pod.netns);
    if (current === undefined) throw new Error(`addSpoofedAddress: no pod ${pod.label} in this lab`);
    const line = ip.includes(':') ? `addr add ${ip}/128 dev eth0 nodad` : `addr add ${ip}/32 dev eth0`;
    await ipBatch(pod.netns, [line]);
    const updated: LabPod = { ...current, spoofedAddresses: [...current.spoofedAddresses, ip] };
    this.podsByNetns.set(pod.netns, updated);
    this.saveState();
    return updated;
  }

  private allocateHost(node: LabNode): number {
    const inUse = this.hostsInUse.get(node.name);
    if (inUse === undefined) throw new Error(`no address pool for ${node.name}`);
    const span = LAST_POD_HOST - FIRST_POD_HOST + 1;
    const last = this.lastHost.get(node.name) ?? FIRST_POD_HOST - 1;
    for (let step = 1; step <= span; step++) {
      const host = FIRST_POD_HOST + ((last - FIRST_POD_HOST + step) % span);
      if (!inUse.has(host)) {
        inUse.add(host);
        this.lastHost.set(node.name, host);
        return host;
      }
    }
    throw new Error(`${node.name}: all ${span} pod addresses are in use`);
  }

  private freshVethName(node: LabNode): string {
    const taken = new Set(this.pods.filter((p) => p.node === node.name).map((p) => p.hostVeth));
    for (;;) {
      const name = `veth${randomHex(8)}`;
      if (!taken.has(name)) return name;
    }
  }

  // ------------------------------------------------------------------------------------------ traffic

  async startServer(where: Place, port: number, proto: Proto): Promise<LabServer> {
    this.assertUsable();
    this.assertOwn(where);
    const engine = this.requireEngine();
    await engine.request({ op: 'serve', netns: where.netns, proto, port, label: `${where.label} ${proto}/${port}` });
    const key = serverKey(where.netns, proto, port);
    this.servers.set(key, { netns: where.netns, label: where.label, proto, port });
    this.saveState();
    return {
      where,
      port,
      proto,
      peers: () => engine.request({ op: 'peers', netns: where.netns, proto, port }),
      stop: async () => {
        await engine.request({ op: 'unserve', netns: where.netns, proto, port });
        this.servers.delete(key);
        this.saveState();
      },
    };
  }

  async probe(from: Place, toIP: string, port: number, proto: Proto, options: ProbeOptions = {}): Promise<Outcome> {
    this.assertUsable();
    this.assertOwn(from);
    return this.requireEngine().request({
      op: 'probe',
      netns: from.netns,
      proto,
      dst: toIP,
      port,
      timeoutMs: options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
      ...(options.sourceIP === undefined ? {} : { source: options.sourceIP }),
    });
  }

  async exec(where: Place, argv: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    this.assertUsable();
    this.assertOwn(where);
    return runCommand(['ip', 'netns', 'exec', where.netns, ...argv], options);
  }

  async runInNode(
    node: LabNode,
    argv: readonly string[],
    options: { name?: string; env?: NodeJS.ProcessEnv } = {},
  ): Promise<LabProcess> {
    this.assertUsable();
    this.assertOwn(node);
    const name = options.name ?? (argv[0] ?? 'process').split('/').pop() ?? 'process';
    const stamp = `${name}-${Date.now()}-${randomHex(4)}`;
    const stdoutPath = join(node.logDir, `${stamp}.out`);
    const stderrPath = join(node.logDir, `${stamp}.err`);
    const out = openSync(stdoutPath, 'a');
    const err = openSync(stderrPath, 'a');
    const child = (() => {
      try {
        // Its own process group, so stop() reaches whatever it spawns as well.
        return spawn('ip', ['netns', 'exec', node.netns, ...argv], {
          stdio: ['ignore', out, err],
          detached: true,
          env: options.env ?? process.env,
        });
      } finally {
        closeSync(out);
        closeSync(err);
      }
    })();
    const exited = new Promise<ProcessExit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const started = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? -1));
      child.once('error', (error) => reject(new Error(`runInNode ${argv.join(' ')}: ${error.message}`)));
    });
    const entry = { identity: identify(started), exited };
    this.processes.add(entry);
    void exited.then(() => this.processes.delete(entry));
    await untilInside(started, node.netns, exited, stderrPath);
    return {
      pid: started,
      stdoutPath,
      stderrPath,
      exited,
      stop: () => stopGroup(started, exited),
    };
  }

  // ------------------------------------------------------------------------------------------ lifecycle

  async detach(): Promise<void> {
    this.assertUsable();
    await this.requireEngine().detach();
    this.detached = true;
    this.saveState();
    liveLabs.delete(this);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    // Give long-running processes (the agent) a moment to end on their own terms; teardown kills the rest.
    await Promise.all([...this.processes].map((p) => stopGroup(p.identity.pid, p.exited)));
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    this.engine?.stop();
    teardownSync(this.prefix, this.engineIdentity, this.dir);
  }

  private assertUsable(): void {
    if (this.destroyed) throw new Error(`lab ${this.prefix} is destroyed`);
    if (this.detached) throw new Error(`lab ${this.prefix} is detached; it belongs to lab-cli now`);
  }

  /**
   * Traffic may start only in this lab's namespaces: they connect to nothing but each other, so no probe or
   * command of the lab can reach the machine's real network.
   */
  private assertOwn(place: Place): void {
    if (!place.netns.startsWith(`${this.prefix}-`) || !existsSync(`/run/netns/${place.netns}`)) {
      throw new Error(`${place.label} (netns ${place.netns}) is not a namespace of lab ${this.prefix}`);
    }
  }

  private requireEngine(): TrafficEngine {
    if (this.engine === undefined) throw new Error(`lab ${this.prefix} has no traffic engine yet`);
    return this.engine;
  }

  private saveState(): void {
    const state: LabState = {
      prefix: this.prefix,
      dir: this.dir,
      owner: this.owner,
      detached: this.detached,
      ...(this.engineIdentity ? { engine: this.engineIdentity } : {}),
      nodes: this.nodes,
      ...(this.outside ? { outside: this.outside } : {}),
      pods: this.pods,
      servers: [...this.servers.values()],
    };
    writeState(state);
  }
}

/**
 * Must run before the namespace has interfaces. Until DAD has validated a link-local address (about a second),
 * the kernel sends no neighbour solicitation from it, so a node cannot forward IPv6 to a pod it has not heard from
 * yet: the first packets across a new cni0 would vanish. The outside host, answering from addresses on lo, is in
 * the same position on its eth0.
 */
async function withoutDuplicateAddressDetection(netns: string): Promise<void> {
  await inNetns(netns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
}

/**
 * `ip netns exec` enters the namespace a moment after it starts: wait for that, so that whoever started the process
 * can rely on where it runs. A process that ends first (a command that does not exist) is an error.
 */
async function untilInside(pid: number, netns: string, exited: Promise<ProcessExit>, stderrPath: string): Promise<void> {
  const target = `net:[${statSync(`/run/netns/${netns}`).ino}]`;
  let ended: ProcessExit | undefined;
  void exited.then((exit) => (ended = exit));
  const deadline = Date.now() + ENTER_NETNS_TIMEOUT_MS;
  for (;;) {
    if (ended !== undefined) {
      throw new Error(`process ${pid} ended (${ended.signal ?? ended.code}) before it ran in ${netns}: ${readFileSync(stderrPath, 'utf8').trim()}`);
    }
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === target) return;
    } catch {
      // Exiting; the next round reports how it ended.
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} did not enter ${netns} within ${ENTER_NETNS_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function serverKey(netns: string, proto: Proto, port: number): string {
  return `${netns} ${proto}/${port}`;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopGroup(pid: number, exited: Promise<ProcessExit>): Promise<ProcessExit> {
  killQuietly(-pid, 'SIGTERM');
  const timer = setTimeout(() => killQuietly(-pid, 'SIGKILL'), STOP_GRACE_MS);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

