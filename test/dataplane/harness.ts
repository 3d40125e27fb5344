// A Bulkhead cluster on the network-namespace lab: scenarios (namespaces, pods, policies) become lab pods with
// servers on their ports, the cluster state one real agent per node reads (`bulkhead agent`, the built CLI,
// running in the node's namespace), and a wait that returns only once every agent enforces that exact state.
// Probes come back with the verdict src/policy gives for the very snapshot the agents load.
//
// The cluster state comes from one of two sources (ClusterOptions.source):
//   manifests (default)  a manifests directory shared by the agents (--manifests). Every agent logs, on each sync
//                        that brings new inputs into force, the digest of the manifest texts in force
//                        (src/agent manifestsDigest); the harness computes the same digest over what it wrote and
//                        waits until each agent's latest logged digest equals it.
//   api                  the lab's fake API server (test/lab/api.ts), which the agents watch (--kubeconfig); the
//                        harness applies the objects as `kubectl apply` would (pruning what the scenario dropped)
//                        and waits until each agent logs a resourceVersion at or after the server's.
// Either way, CNI cache files (which veth is whose) are written by the lab before the state names those pods, and
// an agent's sync reads the state before the CNI cache, so a sync that logs the new state has seen the bindings
// of its pods too.
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
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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
import { type Applied, applyObjects, deleteObjects, type ManifestObject, readManifestObjects } from '../kube/apply.js';
import { RESOURCE_NAMES, RESOURCES, type ResourceName } from '../kube/resources.js';
import { type LabApi, startLabApi } from '../lab/api.js';
import { type ClusterSource, LabAgent, waitForAgents, waitForResourceVersion } from '../lab/agents.js';
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
  /** e.g. bulkhead.io/enforcement: audit. */
  readonly annotations?: Labels;
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
  /** Where the agents read the cluster: a manifests directory (default) or the lab's API server. */
  readonly source?: 'manifests' | 'api';
  /** The agent's --debounce-ms (default 20). */
  readonly debounceMs?: number;
  /** More flags for every agent (`--monitor-allowed 50/second`). */
  readonly agentArgs?: readonly string[];
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

export interface ApplyReport {
  /**
   * What the apply changed: with the API source, each object created, configured or deleted, as kubectl prints
   * it (`networkpolicy.networking.k8s.io/deny-all created`); with manifests, each file written or removed.
   */
  readonly changes: readonly string[];
}

export interface Cluster {
  readonly lab: Lab;
  readonly manifestsDir: string;
  /** The lab's API server, with the API source. */
  readonly api: LabApi | undefined;
  readonly agents: readonly AgentHandle[];
  /** The snapshot the agents hold after the last apply, loaded from the same texts by the same loader. */
  readonly snapshot: Snapshot;
  /** Makes the lab and the cluster state match the scenario and returns once every agent enforces it. */
  apply(scenario: Scenario, options?: ApplyOptions): Promise<ApplyReport>;
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
  /**
   * The manifest texts in force, by path relative to the manifests directory; with the API source, the texts
   * whose objects were applied (the directory then stays empty).
   */
  manifests(): ReadonlyMap<string, string>;
  /** Stops the agents and destroys the lab. Idempotent, and safe after a failed start. */
  stop(): Promise<void>;
}

/** The loader options of the agent (src/agent/agent.ts): the same texts must give the same snapshot. */
const LOAD_OPTIONS: LoadOptions = { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS };

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'dist', 'cli', 'main.js');
const SOURCES = join(REPO, 'src');
/** Bookmarks bring every watch of an agent to the server's resourceVersion: their interval bounds an apply's wait. */
const API_BOOKMARK_INTERVAL_MS = 200;

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
export function ensureBuiltCli(): void {
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

const EMPTY_SNAPSHOT = buildSnapshot({ namespaces: [], pods: [], policies: [] });

class LabCluster implements Cluster {
  readonly manifestsDir: string;
  private readonly stagingDir: string;
  private labAgents: LabAgent[] = [];
  private labApi: LabApi | undefined;
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
    return this.labAgents.map((agent) => ({ node: agent.node, process: agent.process }));
  }

  get api(): LabApi | undefined {
    return this.labApi;
  }

  get snapshot(): Snapshot {
    return this.current;
  }

  async start(): Promise<void> {
    mkdirSync(this.manifestsDir, { recursive: true });
    mkdirSync(this.stagingDir, { recursive: true });
    let source: ClusterSource = { kind: 'manifests', dir: this.manifestsDir };
    if (this.options.source === 'api') {
      this.labApi = await startLabApi(this.lab, { bookmarkIntervalMs: API_BOOKMARK_INTERVAL_MS });
      source = { kind: 'api', kubeconfig: this.labApi.kubeconfig };
    }
    for (const node of this.lab.nodes) {
      this.labAgents.push(await LabAgent.start(this.lab, node, { source, debounceMs: this.options.debounceMs ?? 20, ...(this.options.agentArgs ? { args: this.options.agentArgs } : {}) }));
    }
    if (this.labApi) await this.waitForResourceVersion(this.labApi.server.resourceVersion);
    else await this.waitForDigest(manifestsDigest(this.manifestsDir, new Map()));
  }

  async apply(scenario: Scenario, options: ApplyOptions = {}): Promise<ApplyReport> {
    this.assertRunning();
    const declarations = new Map(scenario.pods.map((pod) => [`${pod.namespace}/${pod.name}`, pod]));
    if (declarations.size !== scenario.pods.length) throw new Error('apply: a pod is declared twice');
    for (const pod of scenario.pods) this.lab.node(pod.node);

    await this.reconcilePods(declarations);
    this.declarations = declarations;
    await this.reconcileServers(scenario);

    const desired = this.manifestTexts(scenario);
    let changes: string[];
    if (this.labApi) {
      // What the agents will load, or an error, before anything is sent: the same check as with manifests.
      this.load(desired);
      const published = await this.publish(this.labApi, desired);
      changes = published.changes;
      this.written = new Map(desired);
      this.current = this.loadFromServer(this.labApi);
      await this.waitForResourceVersion(published.resourceVersion);
    } else {
      this.current = this.load(desired);
      changes = this.writeManifests(desired);
      await this.waitForDigest(manifestsDigest(this.manifestsDir, absolute(this.manifestsDir, desired)));
    }
    if (options.flushConntrack ?? true) {
      await Promise.all(this.lab.nodes.map((node) => this.mustExec(node, ['conntrack', '-F'])));
    }
    return { changes };
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
    for (const ns of scenario.namespaces ?? []) files.set(`namespaces/${ns.name}.yaml`, namespaceText(ns.name, ns.labels ?? {}, ns.annotations ?? {}));
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

  private writeManifests(desired: ReadonlyMap<string, string>): string[] {
    const changes: string[] = [];
    for (const [path, text] of desired) {
      if (this.written.get(path) === text) continue;
      const staged = join(this.stagingDir, randomBytes(8).toString('hex'));
      writeFileSync(staged, text);
      const target = join(this.manifestsDir, path);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(staged, target);
      changes.push(`${path} written`);
    }
    for (const path of this.written.keys()) {
      if (!desired.has(path)) {
        unlinkSync(join(this.manifestsDir, path));
        changes.push(`${path} removed`);
      }
    }
    this.written = new Map(desired);
    return changes;
  }

  /**
   * `kubectl apply --prune` of the scenario: its objects applied (namespaces, then pods, then policies), with a
   * namespace object for every namespace a pod is in, as a cluster has; then what the scenario no longer holds
   * deleted (policies, then pods, then namespaces).
   */
  private async publish(api: LabApi, desired: ReadonlyMap<string, string>): Promise<{ changes: string[]; resourceVersion: number }> {
    const objects = [...desired].flatMap(([path, text]) => readManifestObjects(text, path, DEFAULT_NAMESPACE));
    const declared = new Set(objects.filter((o) => o.resource === 'namespaces').map((o) => o.object.metadata.name));
    const implied = [...new Set(objects.filter((o) => o.resource === 'pods').map((o) => o.object.metadata.namespace ?? DEFAULT_NAMESPACE))]
      .filter((name) => !declared.has(name))
      .map((name): ManifestObject => ({ resource: 'namespaces', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } }));
    const ordered = RESOURCE_NAMES.flatMap((resource) => [...implied, ...objects].filter((o) => o.resource === resource));
    const applied = await applyObjects(api.store, ordered);
    const wanted = new Set(ordered.map((o) => `${o.resource} ${o.object.metadata.namespace ?? ''}/${o.object.metadata.name}`));
    const stale = [...RESOURCE_NAMES].reverse().flatMap((resource) =>
      api.server.objects(resource).filter((o) => !wanted.has(`${resource} ${o.metadata.namespace ?? ''}/${o.metadata.name}`)).map((object) => ({ resource, object })),
    );
    await deleteObjects(api.store, stale);
    const changes = [
      ...applied.filter((a) => a.action !== 'unchanged').map(describeApplied),
      ...stale.map(({ resource, object }) => `${kubectlName(resource)}/${object.metadata.name} deleted${namespaceSuffix(resource, object.metadata.namespace)}`),
    ];
    return { changes, resourceVersion: api.server.resourceVersion };
  }

  /** What the agents watching the server load: its objects, read by the manifest loader as the watch layer reads them. */
  private loadFromServer(api: LabApi): Snapshot {
    const texts = RESOURCE_NAMES.flatMap((resource) => {
      const { kind, apiVersion } = RESOURCES[resource];
      return api.server.objects(resource).map((object) => ({
        source: `${resource}/${object.metadata.namespace ?? ''}/${object.metadata.name}`,
        text: JSON.stringify({ kind, apiVersion, ...object }),
      }));
    });
    return buildSnapshot(parseManifests(texts, LOAD_OPTIONS));
  }

  manifests(): ReadonlyMap<string, string> {
    return this.written;
  }

  // ---------------------------------------------------------------------------------------------- agents

  private async waitForDigest(digest: string): Promise<void> {
    await waitForAgents(this.labAgents, `manifests ${digest.slice(0, 12)}`, (agent) => agent.log.manifestsDigest === digest, this.options.syncTimeoutMs);
  }

  private async waitForResourceVersion(resourceVersion: number): Promise<void> {
    await waitForResourceVersion(this.labAgents, resourceVersion, this.options.syncTimeoutMs);
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
      await Promise.all(this.labAgents.map((agent) => agent.process.stop()));
      await this.labApi?.close();
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

function kubectlName(resource: ResourceName): string {
  const { kind, apiVersion } = RESOURCES[resource];
  const group = apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : '';
  return `${kind.toLowerCase()}${group}`;
}

function namespaceSuffix(resource: ResourceName, namespace: string | undefined): string {
  return RESOURCES[resource].namespaced ? ` (namespace ${namespace ?? DEFAULT_NAMESPACE})` : '';
}

function describeApplied(applied: Applied): string {
  const [namespace, name] = applied.key.split('/') as [string, string];
  return `${kubectlName(applied.resource)}/${name} ${applied.action}${namespaceSuffix(applied.resource, namespace)}`;
}

function describeError(error: ValidationError): string {
  return `${error.object}${error.field ? ` ${error.field}` : ''}: ${error.message}`;
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
