// A Bulkhead cluster on the network-namespace lab: scenarios (namespaces, pods, policies) become lab pods with
// servers on their ports, a manifests directory shared by one real agent per node (`bulkhead agent`, the built
// CLI, running in the node's namespace), and a wait that returns only once every agent enforces that exact state.
// Probes come back with the verdict src/policy gives for the very snapshot the agents load.
//
// The wait is deterministic: every agent logs, on each sync that brings new inputs into force, the digest of the
// manifest texts in force (src/agent manifestsDigest); the harness computes the same digest over what it wrote
// and waits until each agent's latest logged digest equals it. CNI cache files (which veth is whose) are written
// by the lab before the manifests naming those pods, and an agent's sync reads the manifests before the CNI cache,
// so a sync that logs the new digest has seen the bindings of its pods too.
//
//   const cluster = await startCluster();                 // lab of 2 nodes + outside host, one agent per node
//   await cluster.apply({ pods: [{ namespace: 'default', name: 'web', node: 'node1', labels: { app: 'web' },
//                                  ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }, ...],
//                         policies: [yamlText, typedPolicy] });       // returns once both agents enforce it
//   const [result] = await cluster.probe([{ from: 'default/client', to: 'default/web', port: 80, protocol: 'TCP' }]);
//   result.outcome;          // 'connected' | 'refused' | 'timeout', from real packets
//   result.verdictOutcome;   // what connectionVerdict says it must be ('connected' or 'timeout')
//   await cluster.dropCounters();                          // per pod and direction, from nft on each node
//   await cluster.stop();                                  // agents stopped, lab destroyed (call it in afterAll)
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptManifests } from '../../src/agent/manifests.js';
import { manifestsDigest } from '../../src/agent/index.js';
import { dropCounterName, podChainName, POLICY_TABLE } from '../../src/compile/index.js';
import {
  type ContainerPort,
  DEFAULT_NAMESPACE,
  DEFAULT_POD_CIDRS,
  type Direction,
  type Labels,
  type LoadOptions,
  type NetworkPolicy,
  parseManifests,
  type Protocol,
  type ValidationError,
} from '../../src/model/index.js';
import { type Connection, connectionVerdict, type ConnectionVerdict, type Endpoint } from '../../src/policy/index.js';
import { buildSnapshot, canonicalIP, type Snapshot } from '../../src/snapshot/snapshot.js';
import { createLab, type Lab, type LabNode, type LabPod, type LabProcess, type LabServer, type Outcome, type Place, type Proto } from '../lab/lab.js';
import { namespaceText, podText, policyText } from './manifest-text.js';

// ------------------------------------------------------------------------------------------------ scenarios

export interface Served {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface PodDeclaration {
  readonly namespace: string;
  readonly name: string;
  /** A lab node name, e.g. `node1`. */
  readonly node: string;
  readonly labels?: Labels;
  /** Declared container ports (what named ports resolve against); each one also gets a server. */
  readonly ports?: readonly ContainerPort[];
  /** Servers beyond the declared ports, so that a probe to an undeclared port that is allowed connects. */
  readonly serve?: readonly Served[];
  /** Runs in its node's namespace and has the node's addresses, as kube-proxy or a kubelet probe does. */
  readonly hostNetwork?: boolean;
}

export interface NamespaceDeclaration {
  readonly name: string;
  readonly labels?: Labels;
}

export interface Scenario {
  readonly namespaces?: readonly NamespaceDeclaration[];
  readonly pods: readonly PodDeclaration[];
  /** Manifest text (one or more documents) or validated policies. */
  readonly policies?: readonly (string | NetworkPolicy)[];
  /** Servers on the outside host, on every one of its addresses. */
  readonly outside?: readonly Served[];
}

// ------------------------------------------------------------------------------------------------ probes

/** `ns/name` of a pod of the scenario (hostNetwork pods start from their node), or the outside host. */
export type Origin = string | { readonly outside: true };

/** `ns/name` of a pod, or an IP address (the outside host's, a node's, anything). */
export type Target = string | { readonly ip: string };

export interface Probe {
  readonly from: Origin;
  readonly to: Target;
  readonly port: number;
  readonly protocol: Protocol;
  /** Which address family to use when `to` is a pod. Default 4. */
  readonly family?: 4 | 6;
}

export interface ProbeResult {
  readonly probe: Probe;
  readonly sourceIP: string;
  readonly destinationIP: string;
  readonly outcome: Outcome;
  readonly verdict: ConnectionVerdict;
  /** What the verdict says the kernel must do: 'connected' when allowed, 'timeout' (dropped) when not. */
  readonly verdictOutcome: Outcome;
}

export interface DropReading {
  readonly node: string;
  readonly counter: string;
  readonly namespace: string;
  readonly pod: string;
  readonly direction: Direction;
  readonly packets: number;
}

// ------------------------------------------------------------------------------------------------ the cluster

export interface ClusterOptions {
  /** Lab nodes (default 2). */
  readonly nodes?: number;
  /** The agent's --debounce-ms (default 20). */
  readonly debounceMs?: number;
  /** How long `apply` waits for every agent (default 20 s). */
  readonly syncTimeoutMs?: number;
  /** Probe timeout: a denied probe costs this long (default 400 ms). */
  readonly probeTimeoutMs?: number;
  /** Probes in flight at once (default 96). */
  readonly probeConcurrency?: number;
}

export interface ApplyOptions {
  /**
   * Empty every node's conntrack table once the new state is enforced (default true), so that each probe after
   * it is a new connection even when it happens to reuse the 5-tuple of an earlier probe (UDP, SCTP). Pass false
   * to keep established connections across a policy change.
   */
  readonly flushConntrack?: boolean;
}

export interface AgentHandle {
  readonly node: LabNode;
  readonly process: LabProcess;
}

export interface Cluster {
  readonly lab: Lab;
  readonly manifestsDir: string;
  readonly agents: readonly AgentHandle[];
  /** The snapshot the agents hold after the last apply, loaded from the same texts by the same loader. */
  readonly snapshot: Snapshot;
  /** Makes the lab and the manifests match the scenario and returns once every agent enforces it. */
  apply(scenario: Scenario, options?: ApplyOptions): Promise<void>;
  /** The lab pod of a scenario pod (not of a hostNetwork one). */
  pod(key: string): LabPod;
  /** Where a probe from this origin starts. */
  place(origin: Origin): Place;
  /** The address a probe to this target goes to. */
  addressOf(target: Target, family?: 4 | 6): string;
  /**
   * The snapshot a scenario would put in force, without applying it (its pods must be in the lab already, as
   * their addresses are the lab's).
   */
  preview(scenario: Scenario): Snapshot;
  /** The verdict for a connection, with the addresses a probe would use, on the snapshot in force or the one given. */
  verdict(probe: Probe, snapshot?: Snapshot): Promise<{ connection: Connection; verdict: ConnectionVerdict }>;
  /** Runs probes in parallel batches; each result carries the verdict for the same connection. */
  probe(probes: readonly Probe[]): Promise<ProbeResult[]>;
  /** Source addresses a server of the scenario has seen (TCP connections, UDP datagrams, SCTP INITs), oldest first. */
  serverPeers(where: Origin, served: Served): Promise<string[]>;
  /** Every drop counter on every node, named by pod and direction. */
  dropCounters(): Promise<DropReading[]>;
  /** `nft list chain` of a pod's chain on its node, or a line saying there is none. */
  chainListing(key: string, direction: Direction): Promise<string>;
  /** The manifest texts in force, by path relative to the manifests directory. */
  manifests(): ReadonlyMap<string, string>;
  /** Stops the agents and destroys the lab. Idempotent, and safe after a failed start. */
  stop(): Promise<void>;
}

/** The loader options of the agent (src/agent/agent.ts): the same texts must give the same snapshot. */
const LOAD_OPTIONS: LoadOptions = { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS };

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'dist', 'cli', 'main.js');
const SOURCES = join(REPO, 'src');

/** Creates a lab of `nodes` nodes with the outside host, and starts one agent per node on an empty cluster. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  requireTools(['conntrack']);
  ensureBuiltCli();
  const lab = await createLab({ nodes: options.nodes ?? 2, outside: true });
  const cluster = new LabCluster(lab, options);
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** Fails loudly, naming what is missing, rather than letting a test fail later for an unclear reason. */
export function requireTools(tools: readonly string[]): void {
  const missing = tools.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new Error(`dataplane tests need ${missing.map((t) => `\`${t}\``).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed (run \`make deps\` as root)`);
}

/**
 * The agents run the built CLI, which must be built from the sources under test: a dist/ older than any source
 * is rebuilt first (`tsc -p tsconfig.json`), and a build that fails stops the run.
 */
function ensureBuiltCli(): void {
  if (staleSources().length === 0) return;
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.json')], { cwd: REPO, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    throw new Error(`the agents need dist/ built from src/, and \`tsc -p tsconfig.json\` failed:\n${output}`);
  }
  const stale = staleSources();
  if (stale.length > 0 || !existsSync(CLI)) {
    throw new Error(`dist/ is still older than ${stale.map((s) => relative(REPO, s)).join(', ') || CLI} after a build`);
  }
}

function staleSources(): string[] {
  return sourceFiles(SOURCES).filter((source) => {
    const built = join(REPO, 'dist', relative(SOURCES, source)).replace(/\.ts$/, '.js');
    return !existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs;
  });
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

interface AgentLog {
  readonly handle: AgentHandle;
  offset: number;
  partial: string;
  /** The digest of the manifests in force after the agent's latest sync. */
  digest: string | undefined;
  /** The latest error lines, for a failure message. */
  errors: string[];
  exit: string | undefined;
}

const EMPTY_SNAPSHOT = buildSnapshot({ namespaces: [], pods: [], policies: [] });

class LabCluster implements Cluster {
  readonly manifestsDir: string;
  private readonly stagingDir: string;
  private readonly logs: AgentLog[] = [];
  private written = new Map<string, string>();
  private declarations = new Map<string, PodDeclaration>();
  private servers = new Map<string, LabServer>();
  private sourceRoutes = new Map<string, string>();
  private current: Snapshot = EMPTY_SNAPSHOT;
  private stopped = false;

  constructor(
    readonly lab: Lab,
    private readonly options: ClusterOptions,
  ) {
    this.manifestsDir = join(lab.dir, 'cluster', 'manifests');
    // Same filesystem as the manifests, outside the watched tree: a rename from here is atomic.
    this.stagingDir = join(lab.dir, 'cluster', 'staging');
  }

  get agents(): AgentHandle[] {
    return this.logs.map((log) => log.handle);
  }

  get snapshot(): Snapshot {
    return this.current;
  }

  async start(): Promise<void> {
    mkdirSync(this.manifestsDir, { recursive: true });
    mkdirSync(this.stagingDir, { recursive: true });
    for (const node of this.lab.nodes) {
      const agent = await this.lab.runInNode(
        node,
        [
          process.execPath,
          CLI,
          'agent',
          '--node-name',
          node.name,
          '--manifests',
          this.manifestsDir,
          '--cni-results',
          node.cniResultsDir,
          '--debounce-ms',
          String(this.options.debounceMs ?? 20),
        ],
        { name: 'bulkhead-agent' },
      );
      const log: AgentLog = { handle: { node, process: agent }, offset: 0, partial: '', digest: undefined, errors: [], exit: undefined };
      void agent.exited.then((exit) => (log.exit = `exited (${exit.signal ?? exit.code})`));
      this.logs.push(log);
    }
    await this.waitForAgents(manifestsDigest(this.manifestsDir, new Map()));
  }

  async apply(scenario: Scenario, options: ApplyOptions = {}): Promise<void> {
    this.assertRunning();
    const declarations = new Map(scenario.pods.map((pod) => [`${pod.namespace}/${pod.name}`, pod]));
    if (declarations.size !== scenario.pods.length) throw new Error('apply: a pod is declared twice');
    for (const pod of scenario.pods) this.lab.node(pod.node);

    await this.reconcilePods(declarations);
    this.declarations = declarations;
    await this.reconcileServers(scenario);

    const desired = this.manifestTexts(scenario);
    this.current = this.load(desired);
    this.writeManifests(desired);
    await this.waitForAgents(manifestsDigest(this.manifestsDir, absolute(this.manifestsDir, desired)));
    if (options.flushConntrack ?? true) {
      await Promise.all(this.lab.nodes.map((node) => this.mustExec(node, ['conntrack', '-F'])));
    }
  }

  // ---------------------------------------------------------------------------------------------- lab pods

  /** Removes lab pods that are gone or moved, then adds the new ones: their CNI cache files exist before the manifests name them. */
  private async reconcilePods(next: ReadonlyMap<string, PodDeclaration>): Promise<void> {
    const existing = new Map(this.lab.pods.map((pod) => [pod.label, pod]));
    const leaving = [...existing].filter(([key, pod]) => {
      const wanted = next.get(key);
      return wanted === undefined || wanted.hostNetwork === true || wanted.node !== pod.node;
    });
    for (const [key, pod] of leaving) {
      for (const [serverKey, server] of this.servers) {
        if (server.where.netns === pod.netns) this.servers.delete(serverKey);
      }
      await this.lab.deletePod(pod);
      existing.delete(key);
    }
    await Promise.all(
      [...next.values()]
        .filter((pod) => pod.hostNetwork !== true && !existing.has(`${pod.namespace}/${pod.name}`))
        .map((pod) => this.lab.addPod({ namespace: pod.namespace, name: pod.name, node: pod.node, ...(pod.labels ? { labels: pod.labels } : {}) })),
    );
  }

  private async reconcileServers(scenario: Scenario): Promise<void> {
    const wanted = new Map<string, { place: Place; served: Served }>();
    for (const pod of scenario.pods) {
      const place = this.placeOf(pod);
      for (const served of [...(pod.ports ?? []).map((p) => ({ port: p.containerPort, protocol: p.protocol })), ...(pod.serve ?? [])]) {
        wanted.set(serverKey(place, served), { place, served });
      }
    }
    const outside = this.outsideHost();
    for (const served of scenario.outside ?? []) wanted.set(serverKey(outside, served), { place: outside, served });

    await Promise.all(
      [...this.servers].filter(([key]) => !wanted.has(key)).map(async ([key, server]) => {
        this.servers.delete(key);
        await server.stop();
      }),
    );
    await Promise.all(
      [...wanted].filter(([key]) => !this.servers.has(key)).map(async ([key, { place, served }]) => {
        this.servers.set(key, await this.lab.startServer(place, served.port, proto(served.protocol)));
      }),
    );
  }

  private placeOf(pod: PodDeclaration): Place {
    return pod.hostNetwork === true ? this.lab.node(pod.node) : this.lab.pod(pod.namespace, pod.name);
  }

  private outsideHost(): Place {
    const outside = this.lab.outside;
    if (outside === undefined) throw new Error(`lab ${this.lab.prefix} has no outside host`);
    return outside;
  }

  // ---------------------------------------------------------------------------------------------- manifests

  /** Paths relative to the manifests directory -> texts: one file per object, so a change rewrites only its own. */
  private manifestTexts(scenario: Scenario): Map<string, string> {
    const files = new Map<string, string>();
    for (const ns of scenario.namespaces ?? []) files.set(`namespaces/${ns.name}.yaml`, namespaceText(ns.name, ns.labels ?? {}));
    for (const pod of scenario.pods) {
      files.set(
        `pods/${pod.namespace}.${pod.name}.yaml`,
        podText({
          namespace: pod.namespace,
          name: pod.name,
          labels: pod.labels ?? {},
          nodeName: pod.node,
          ips: this.addressesOf(pod),
          ports: pod.ports ?? [],
          hostNetwork: pod.hostNetwork === true,
        }),
      );
    }
    for (const policy of scenario.policies ?? []) {
      if (typeof policy === 'string') files.set(`policies/text-${textName(policy)}.yaml`, policy);
      else files.set(`policies/${policy.namespace}.${policy.name}.yaml`, policyText(policy));
    }
    return files;
  }

  private addressesOf(pod: PodDeclaration): string[] {
    if (pod.hostNetwork === true) {
      const node = this.lab.node(pod.node);
      return [node.underlayIPv4, node.underlayIPv6];
    }
    const labPod = this.lab.pod(pod.namespace, pod.name);
    return [labPod.ipv4, labPod.ipv6];
  }

  /** What the agents will load, or an error when a file would not be taken whole (the agent would keep its last good text). */
  private load(files: ReadonlyMap<string, string>): Snapshot {
    const reads = [...absolute(this.manifestsDir, files)].map(([path, text]) => ({ path, text }));
    const rejected = acceptManifests(new Map(), reads, LOAD_OPTIONS).rejected;
    if (rejected.length > 0) {
      throw new Error(`apply: manifests the agent would not take:\n${rejected.flatMap((r) => r.errors.map((e) => `  ${describeError(e)}`)).join('\n')}`);
    }
    const result = parseManifests(reads.map(({ path, text }) => ({ source: path, text })), LOAD_OPTIONS);
    return buildSnapshot(result);
  }

  private writeManifests(desired: ReadonlyMap<string, string>): void {
    for (const [path, text] of desired) {
      if (this.written.get(path) === text) continue;
      const staged = join(this.stagingDir, randomBytes(8).toString('hex'));
      writeFileSync(staged, text);
      const target = join(this.manifestsDir, path);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(staged, target);
    }
    for (const path of this.written.keys()) {
      if (!desired.has(path)) unlinkSync(join(this.manifestsDir, path));
    }
    this.written = new Map(desired);
  }

  manifests(): ReadonlyMap<string, string> {
    return this.written;
  }

  // ---------------------------------------------------------------------------------------------- agents

  private async waitForAgents(digest: string): Promise<void> {
    const timeoutMs = this.options.syncTimeoutMs ?? 20_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const log of this.logs) this.readLog(log);
      const dead = this.logs.find((log) => log.exit !== undefined);
      if (dead) throw new Error(`agent on ${dead.handle.node.name} ${dead.exit}:\n${this.agentReport(dead)}`);
      if (this.logs.every((log) => log.digest === digest)) return;
      if (Date.now() > deadline) {
        const behind = this.logs.filter((log) => log.digest !== digest);
        throw new Error(
          `agents did not enforce manifests ${digest.slice(0, 12)} within ${timeoutMs} ms:\n` +
            behind.map((log) => `${log.handle.node.name} is at ${log.digest?.slice(0, 12) ?? 'nothing'}\n${this.agentReport(log)}`).join('\n'),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Reads the agent's new JSON log lines; remembers the latest digest in force and the latest errors. */
  private readLog(log: AgentLog): void {
    const fd = openSync(log.handle.process.stdoutPath, 'r');
    try {
      const buffer = Buffer.alloc(1 << 16);
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, log.offset);
        if (read === 0) break;
        log.offset += read;
        log.partial += buffer.subarray(0, read).toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
    const lines = log.partial.split('\n');
    log.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const entry = JSON.parse(line) as { level?: number; manifestsDigest?: string };
      if (typeof entry.manifestsDigest === 'string') log.digest = entry.manifestsDigest;
      if ((entry.level ?? 0) >= 40) log.errors = [...log.errors.slice(-9), line];
    }
  }

  private agentReport(log: AgentLog): string {
    const stderr = readTail(log.handle.process.stderrPath);
    return [
      `  warnings and errors: ${log.errors.length === 0 ? 'none' : `\n    ${log.errors.join('\n    ')}`}`,
      `  stderr: ${stderr === '' ? 'empty' : stderr}`,
      `  logs: ${log.handle.process.stdoutPath}`,
    ].join('\n');
  }

  // ---------------------------------------------------------------------------------------------- probes

  pod(key: string): LabPod {
    const declaration = this.declaration(key);
    if (declaration.hostNetwork === true) throw new Error(`pod ${key} is hostNetwork: it has no lab pod of its own`);
    return this.lab.pod(declaration.namespace, declaration.name);
  }

  private declaration(key: string): PodDeclaration {
    const declaration = this.declarations.get(key);
    if (declaration === undefined) throw new Error(`no pod ${key} in the scenario`);
    return declaration;
  }

  place(origin: Origin): Place {
    return typeof origin === 'string' ? this.placeOf(this.declaration(origin)) : this.outsideHost();
  }

  addressOf(target: Target, family: 4 | 6 = 4): string {
    if (typeof target !== 'string') return target.ip;
    const [ipv4, ipv6] = this.addressesOf(this.declaration(target));
    const address = family === 4 ? ipv4 : ipv6;
    if (address === undefined) throw new Error(`pod ${target} has no IPv${family} address`);
    return address;
  }

  preview(scenario: Scenario): Snapshot {
    for (const pod of scenario.pods) {
      if (pod.hostNetwork !== true) this.lab.pod(pod.namespace, pod.name);
    }
    return this.load(this.manifestTexts(scenario));
  }

  async verdict(probe: Probe, snapshot: Snapshot = this.current): Promise<{ connection: Connection; verdict: ConnectionVerdict }> {
    const destinationIP = this.addressOf(probe.to, probe.family);
    const sourceIP = await this.sourceAddress(probe.from, destinationIP);
    const connection: Connection = {
      from: this.endpoint(snapshot, probe.from, sourceIP),
      to: typeof probe.to === 'string' ? this.endpoint(snapshot, probe.to, destinationIP) : endpointAt(snapshot, destinationIP),
      port: probe.port,
      protocol: probe.protocol,
    };
    return { connection, verdict: connectionVerdict(snapshot, connection) };
  }

  /** A pod's own address, or, from a node's namespace, the address the kernel picks for that destination. */
  private async sourceAddress(origin: Origin, destinationIP: string): Promise<string> {
    if (typeof origin === 'string') {
      const declaration = this.declaration(origin);
      if (declaration.hostNetwork !== true) return this.addressOf(origin, familyOf(destinationIP));
    }
    const place = this.place(origin);
    const key = `${place.netns} ${destinationIP}`;
    const known = this.sourceRoutes.get(key);
    if (known !== undefined) return known;
    const route = await this.mustExec(place, ['ip', '-j', 'route', 'get', destinationIP]);
    const source = (JSON.parse(route) as Array<{ prefsrc?: string }>)[0]?.prefsrc;
    if (source === undefined) throw new Error(`${place.label}: no source address for ${destinationIP}: ${route}`);
    this.sourceRoutes.set(key, source);
    return source;
  }

  private endpoint(snapshot: Snapshot, origin: Origin, ip: string): Endpoint {
    if (typeof origin !== 'string') return { kind: 'external', ip };
    const pod = snapshot.pod(origin);
    if (pod === undefined) throw new Error(`pod ${origin} is not in the snapshot`);
    return { kind: 'pod', pod, ip };
  }

  async probe(probes: readonly Probe[]): Promise<ProbeResult[]> {
    this.assertRunning();
    const concurrency = this.options.probeConcurrency ?? 96;
    const results: ProbeResult[] = [];
    for (let start = 0; start < probes.length; start += concurrency) {
      const batch = probes.slice(start, start + concurrency);
      results.push(...(await Promise.all(batch.map((probe) => this.probeOne(probe)))));
    }
    return results;
  }

  private async probeOne(probe: Probe): Promise<ProbeResult> {
    const { connection, verdict } = await this.verdict(probe);
    const outcome = await this.lab.probe(this.place(probe.from), connection.to.ip, probe.port, proto(probe.protocol), {
      timeoutMs: this.options.probeTimeoutMs ?? 400,
    });
    return {
      probe,
      sourceIP: connection.from.ip,
      destinationIP: connection.to.ip,
      outcome,
      verdict,
      verdictOutcome: verdict.allowed ? 'connected' : 'timeout',
    };
  }

  async serverPeers(where: Origin, served: Served): Promise<string[]> {
    const server = this.servers.get(serverKey(this.place(where), served));
    if (server === undefined) throw new Error(`no server on ${this.place(where).label} ${served.protocol}/${served.port}`);
    return server.peers();
  }

  // ---------------------------------------------------------------------------------------------- counters, chains

  async dropCounters(): Promise<DropReading[]> {
    this.assertRunning();
    const owners = new Map<string, { namespace: string; pod: string; direction: Direction }>();
    for (const pod of this.declarations.values()) {
      for (const direction of ['ingress', 'egress'] as const) {
        owners.set(dropCounterName(pod, direction), { namespace: pod.namespace, pod: pod.name, direction });
      }
    }
    const perNode = await Promise.all(
      this.lab.nodes.map(async (node) => {
        const json = await this.mustExec(node, ['nft', '-j', 'list', 'counters', 'table', POLICY_TABLE.family, POLICY_TABLE.name]);
        const entries = (JSON.parse(json) as { nftables: Array<{ counter?: { name: string; packets: number } }> }).nftables;
        return entries.flatMap(({ counter }) => {
          if (counter === undefined) return [];
          const owner = owners.get(counter.name);
          if (owner === undefined) throw new Error(`${node.name}: counter ${counter.name} belongs to no pod of the scenario`);
          return [{ node: node.name, counter: counter.name, ...owner, packets: counter.packets }];
        });
      }),
    );
    return perNode.flat();
  }

  async chainListing(key: string, direction: Direction): Promise<string> {
    const declaration = this.declaration(key);
    const node = this.lab.node(declaration.node);
    const chain = podChainName(declaration, direction);
    const result = await this.lab.exec(node, ['nft', 'list', 'chain', POLICY_TABLE.family, POLICY_TABLE.name, chain]);
    return result.code === 0 ? result.stdout : `(${node.name} has no chain ${chain}: ${result.stderr.trim()})`;
  }

  // ---------------------------------------------------------------------------------------------- lifecycle

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await Promise.all(this.logs.map((log) => log.handle.process.stop()));
    } finally {
      await this.lab.destroy();
    }
  }

  private assertRunning(): void {
    if (this.stopped) throw new Error('the cluster is stopped');
  }

  private async mustExec(place: Place, argv: readonly string[]): Promise<string> {
    const result = await this.lab.exec(place, argv);
    if (result.code !== 0) throw new Error(`${argv.join(' ')} in ${place.label}: exit ${result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  }
}

// ------------------------------------------------------------------------------------------------ helpers

/** Whoever holds the address in the snapshot: a pod, a node's hostNetwork pod, or nobody (external). */
function endpointAt(snapshot: Snapshot, ip: string): Endpoint {
  const pod = snapshot.podByIP(ip) ?? snapshot.pods.find((p) => p.hostNetwork && p.ips.includes(canonicalIP(ip)));
  return pod ? { kind: 'pod', pod, ip } : { kind: 'external', ip };
}

function proto(protocol: Protocol): Proto {
  switch (protocol) {
    case 'TCP':
      return 'tcp';
    case 'UDP':
      return 'udp';
    case 'SCTP':
      return 'sctp';
    default: {
      const unreachable: never = protocol;
      return unreachable;
    }
  }
}

function serverKey(place: Place, served: Served): string {
  return `${place.netns} ${served.protocol}/${served.port}`;
}

export function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

function absolute(directory: string, files: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...files].map(([path, text]) => [join(directory, path), text]));
}

/** A stable file name for a text: the same policy text is the same file from one apply to the next. */
function textName(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function describeError(error: ValidationError): string {
  return `${error.object}${error.field ? ` ${error.field}` : ''}: ${error.message}`;
}

function readTail(path: string): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = statSync(path).size;
      const length = Math.min(size, 4096);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8').trim();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** A human-readable account of a probe: who, where, what happened, and what the verdict says and why. */
export function describeProbe(result: ProbeResult): string {
  const { probe } = result;
  const from = typeof probe.from === 'string' ? probe.from : 'outside';
  const to = typeof probe.to === 'string' ? probe.to : probe.to.ip;
  return (
    `${from} (${result.sourceIP}) -> ${to} (${result.destinationIP}) ${probe.port}/${probe.protocol}: ` +
    `kernel ${result.outcome}, verdict ${result.verdict.allowed ? 'allowed' : 'denied'} ` +
    `(egress ${describeDirection(result.verdict.egress)}; ingress ${describeDirection(result.verdict.ingress)})`
  );
}

function describeDirection(verdict: ConnectionVerdict['egress']): string {
  switch (verdict.reason) {
    case 'not-isolated':
    case 'loopback':
    case 'node-local':
      return verdict.reason;
    case 'not-a-pod':
      return `not-a-pod (${verdict.endpoint})`;
    case 'rule':
      return `allowed by ${verdict.rules.map((r) => `${r.policy} ${r.direction}[${r.rule}]`).join(', ')}`;
    case 'isolated':
      return `isolated by ${verdict.isolatedBy.join(', ')}`;
    default: {
      const unreachable: never = verdict;
      return unreachable;
    }
  }
}
