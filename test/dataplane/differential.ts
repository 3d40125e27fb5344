// The differential check shared by differential.test.ts and fuzz-dataplane.ts: a seeded random cluster
// (test/support/arbitraries.ts) mapped onto the two-node lab, enforced by the real agents, and a sample of its
// connections probed with real packets. Every probe must end as connectionVerdict says for the snapshot the
// agents load; a disagreement comes with what it takes to reproduce it.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { stringify } from 'yaml';
import type { IPBlock, NetworkPolicy, Peer, Pod, PolicyPort, Rule } from '../../src/model/index.js';
import { PROTOCOLS } from '../../src/model/index.js';
import { type ConnectionVerdict, rulesOf } from '../../src/policy/index.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import { PROBE_PORTS, randomCluster } from '../support/arbitraries.js';
import { type Cluster, describeProbe, type PodDeclaration, type Probe, type ProbeResult, type Scenario, type Served } from './harness.js';
import { policyManifest } from '../../src/model/policy-manifest.js';

/** randomCluster's size: up to 12 pods in up to 3 namespaces, up to 6 policies. */
export const DEFAULT_CLUSTER_SIZE = 12;
export const DEFAULT_PROBES_PER_CLUSTER = 60;

/** The outside host's addresses: destinations beyond every pod, which ipBlocks select and excepts cut out. */
export const OUTSIDE_DESTINATIONS: readonly string[] = ['203.0.113.10', '203.0.113.20', '198.51.100.10', '2001:db8::10', '2001:db8::20'];

export interface ClusterRun {
  readonly seed: number;
  readonly results: readonly ProbeResult[];
  readonly disagreements: readonly string[];
}

/**
 * Runs one random cluster on the lab: pods first (their addresses are the lab's), then the policies, whose
 * ipBlocks are moved onto the lab's address plan (and which `annotate` may give annotations, e.g. audit mode);
 * then `probes` probes, about half of them denied.
 */
export async function runRandomCluster(
  cluster: Cluster,
  seed: number,
  probes = DEFAULT_PROBES_PER_CLUSTER,
  size = DEFAULT_CLUSTER_SIZE,
  annotate: (policy: NetworkPolicy, index: number) => NetworkPolicy = (policy) => policy,
): Promise<ClusterRun> {
  const random = randomCluster(seed, size);
  const pods = [...random.pods.map((pod) => podDeclaration(pod, cluster.lab.nodes.length)), ...nodeAgents(cluster)];
  const namespaces = random.namespaces.map((ns) => ({ name: ns.name, labels: ns.labels }));
  // Phase 1 places the pods, so that phase 2 can aim ipBlocks at their addresses.
  await cluster.apply({ namespaces, pods, policies: [] }, { flushConntrack: false });
  const addresses = podAddresses(cluster, random.pods);
  const policies = random.policies.map((policy, i) => annotate(onLab(policy, addresses), i));

  const snapshot = cluster.preview({ namespaces, pods, policies });
  const candidates = await candidateProbes(cluster, snapshot, pods);
  const sample = stratifiedSample(snapshot, candidates, probes, seed);
  const scenario: Scenario = { namespaces, pods: withServers(pods, sample), policies, outside: servedOutside(sample) };
  await cluster.apply(scenario);
  const results = await cluster.probe(sample.map((c) => c.probe));
  const disagreements: string[] = [];
  for (const result of results) {
    if (result.outcome !== result.verdictOutcome) disagreements.push(await reproduction(cluster, `SEED=${seed} N=1 PROBES=${probes} SIZE=${size}`, seed, result));
  }
  return { seed, results, disagreements };
}

// ------------------------------------------------------------------------------------------------ the cluster on the lab

/** The generator's node-i is the lab's node(i mod nodes + 1): node-0 and node-1 are node1 and node2. */
function podDeclaration(pod: Pod, nodes: number): PodDeclaration {
  const index = Number(pod.nodeName?.replace(/^node-/, '') ?? 0);
  return {
    namespace: pod.namespace,
    name: pod.name,
    node: `node${(index % nodes) + 1}`,
    labels: pod.labels,
    ports: pod.ports,
    hostNetwork: pod.hostNetwork,
  };
}

/**
 * A hostNetwork pod on every lab node, as kube-proxy or Flannel's own pods are in a real cluster: without one
 * the snapshot would not know the nodes' addresses, and traffic to a pod's own node, always allowed, would read
 * as traffic to some external address.
 */
function nodeAgents(cluster: Cluster): PodDeclaration[] {
  return cluster.lab.nodes.map((node) => ({ namespace: 'kube-system', name: `kube-proxy-${node.name}`, node: node.name, labels: { 'k8s-app': 'kube-proxy' }, hostNetwork: true }));
}

interface PodAddresses {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

function podAddresses(cluster: Cluster, pods: readonly Pod[]): PodAddresses {
  const onLab = pods.filter((p) => !p.hostNetwork).map((p) => cluster.pod(`${p.namespace}/${p.name}`));
  return { v4: onLab.map((p) => p.ipv4), v6: onLab.map((p) => p.ipv6) };
}

/**
 * The generator's ipBlocks are written for its own address plan (pods in 10.244.0.0/24 and fd00::/64, nodes in
 * 192.168.0.0/24). Here they land on the lab's: pod ranges on node1's, small blocks and excepts on the networks
 * of actual pod addresses (the generator's `10.244.0.n` becomes pod n's), node addresses on node1's side of
 * the pod network (where its traffic to other nodes' pods comes from), the rest (the cluster CIDR, the
 * internet, documentation ranges that are the outside host's) as they are.
 */
function onLab(policy: NetworkPolicy, addresses: PodAddresses): NetworkPolicy {
  const rules = (list: readonly Rule[]) => list.map((rule) => ({ ...rule, peers: rule.peers.map((peer) => peerOnLab(peer, addresses)) }));
  const moved: NetworkPolicy = { ...policy, ingress: rules(policy.ingress), egress: rules(policy.egress) };
  if (policy.errors.length === 0) return moved;
  // A policy the generator made invalid is written invalid: a port 0 fails validation, and the policy fails closed.
  return { ...moved, ingress: [...moved.ingress, { peers: [], ports: [{ protocol: 'TCP', port: 0 }] }], errors: [] };
}

function peerOnLab(peer: Peer, addresses: PodAddresses): Peer {
  if (peer.kind !== 'ipBlock') return peer;
  const cidr = cidrOnLab(peer.ipBlock.cidr, addresses);
  const except = peer.ipBlock.except.map((e) => exceptOnLab(e, addresses)).filter((e) => strictlyInside(e, cidr));
  const ipBlock: IPBlock = { cidr, except: [...new Set(except)] };
  return { kind: 'ipBlock', ipBlock };
}

function cidrOnLab(cidr: string, addresses: PodAddresses): string {
  switch (cidr) {
    case '10.244.0.0/24':
      return '10.244.1.0/24';
    case '10.244.0.0/28':
      return networkOf(addresses.v4[0] ?? '10.244.2.2', 28);
    case '192.168.0.0/24':
      return '10.244.1.0/31';
    case 'fd00::/64':
      return 'fd00:10:244:1::/64';
    default:
      return cidr;
  }
}

function exceptOnLab(except: string, addresses: PodAddresses): string {
  const [address = '', lengthText = ''] = except.split('/');
  const length = Number(lengthText);
  const v4 = /^10\.244\.0\.(\d+)$/.exec(address);
  if (v4) return pick(addresses.v4, Number(v4[1]), length) ?? except;
  const v6 = /^fd00::([0-9a-f]+)$/.exec(address);
  if (v6) return pick(addresses.v6, parseInt(v6[1] ?? '0', 16), length) ?? except;
  const node = /^192\.168\.0\.(\d+)$/.exec(address);
  if (node) return `10.244.1.${node[1]}/${length}`;
  return except;
}

function pick(list: readonly string[], n: number, length: number): string | undefined {
  const address = list[n % Math.max(1, list.length)];
  return address === undefined ? undefined : networkOf(address, length);
}

function networkOf(address: string, length: number): string {
  const parsed = ipaddr.parse(address);
  const network = parsed.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${length}`) : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${length}`);
  return `${network.toString()}/${length}`;
}

function strictlyInside(inner: string, outer: string): boolean {
  try {
    const [innerAddress, innerLength] = ipaddr.parseCIDR(inner);
    const [outerAddress, outerLength] = ipaddr.parseCIDR(outer);
    return innerAddress.kind() === outerAddress.kind() && innerLength > outerLength && innerAddress.match(outerAddress, outerLength);
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------------ probes

interface Candidate {
  readonly probe: Probe;
  readonly verdict: ConnectionVerdict;
}

/**
 * Every (from, to, port, protocol) worth a probe: from every pod (hostNetwork ones from their node), to every
 * pod in both families (hostNetwork ones at their node's address) and to the outside host, on the generator's
 * probe ports. Verdicts come from the
 * snapshot the agents will load, computed before anything is applied.
 */
async function candidateProbes(cluster: Cluster, snapshot: Snapshot, pods: readonly PodDeclaration[]): Promise<Candidate[]> {
  const sources = pods.map((p) => `${p.namespace}/${p.name}`);
  const destinations: Array<{ to: Probe['to']; family: 4 | 6 }> = [
    ...sources.flatMap((to) => [4, 6].map((family) => ({ to, family: family as 4 | 6 }))),
    ...OUTSIDE_DESTINATIONS.map((ip) => ({ to: { ip }, family: (ip.includes(':') ? 6 : 4) as 4 | 6 })),
  ];
  const candidates: Candidate[] = [];
  for (const from of sources) {
    // A pod's packets to itself never leave its namespace: nothing of Bulkhead's is in their way.
    for (const { to, family } of destinations.filter((d) => d.to !== from)) {
      for (const port of PROBE_PORTS) {
        for (const protocol of PROTOCOLS) {
          const probe: Probe = { from, to, port, protocol, family };
          candidates.push({ probe, verdict: (await cluster.verdict(probe, snapshot)).verdict });
        }
      }
    }
  }
  return candidates;
}

/**
 * About half denied and half allowed, chosen for what they can catch: allowed probes spread over the rules and
 * ports that admit them (a range is probed inside, not only at its first port), denied probes mostly near misses
 * (a pair that some rule connects, on another port or protocol), the rest anything, all in a seeded order.
 */
function stratifiedSample(snapshot: Snapshot, candidates: readonly Candidate[], count: number, seed: number): Candidate[] {
  const random = seededRandom(seed);
  const byRule = candidates.filter((c) => c.verdict.allowed && (c.verdict.egress.reason === 'rule' || c.verdict.ingress.reason === 'rule'));
  const pairKey = (c: Candidate) => `${JSON.stringify(c.probe.from)}>${JSON.stringify(c.probe.to)}/${c.probe.family}`;
  const connectedPairs = new Set(byRule.map(pairKey));
  const denied = candidates.filter((c) => !c.verdict.allowed);
  const nearMisses = denied.filter((c) => connectedPairs.has(pairKey(c)));

  const picked = new Set<Candidate>();
  const pick = (list: readonly Candidate[], n: number, groupOf: (c: Candidate) => string) => {
    for (const c of spread(list.filter((x) => !picked.has(x)), n, groupOf, random)) picked.add(c);
  };
  const half = Math.ceil(count / 2);
  pick(nearMisses, Math.ceil(half * 0.7), (c) => `${pairKey(c)} ${c.probe.protocol}`);
  pick(denied, half - picked.size, (c) => `${verdictKey(c.verdict)} ${c.probe.protocol}`);
  pick(byRule, Math.ceil((count - picked.size) * 0.8), (c) => `${admission(snapshot, c)} ${c.probe.protocol}`);
  pick(candidates, count - picked.size, (c) => `${c.verdict.egress.reason} ${c.verdict.ingress.reason} ${c.probe.protocol}`);
  return [...picked];
}

/**
 * How a connection got in, per direction: by which kind of peer (pods, ipBlock, every peer) and which kind of
 * port entry (a number, the start, inside or end of a range, a named port, a whole protocol, every port).
 */
function admission(snapshot: Snapshot, candidate: Candidate): string {
  const { verdict, probe } = candidate;
  const side = (v: ConnectionVerdict['egress']) => {
    if (v.reason !== 'rule') return v.reason;
    const kinds = v.rules.map((ref) => {
      const policy = snapshot.policies.find((p) => `${p.namespace}/${p.name}` === ref.policy);
      const rule = policy ? rulesOf(policy, ref.direction)[ref.rule] : undefined;
      const peer = ref.peer === null ? 'every-peer' : (rule?.peers[ref.peer]?.kind ?? '?');
      const entry = ref.port === null ? undefined : rule?.ports[ref.port];
      return `${peer}:${portKind(entry, probe.port)}`;
    });
    return [...new Set(kinds)].sort().join('+');
  };
  return `${side(verdict.egress)} | ${side(verdict.ingress)}`;
}

function portKind(entry: PolicyPort | undefined, port: number): string {
  if (entry === undefined) return 'every-port';
  if (entry.port === undefined) return 'protocol';
  if (typeof entry.port === 'string') return 'named';
  if (entry.endPort === undefined) return 'number';
  return port === entry.port ? 'range-start' : port === entry.endPort ? 'range-end' : 'range-inside';
}

/** What decided a verdict: the rules that admitted it, or the policies that isolated it, per direction. */
function verdictKey(verdict: ConnectionVerdict): string {
  const side = (v: ConnectionVerdict['egress']) => (v.reason === 'rule' ? JSON.stringify(v.rules) : v.reason === 'isolated' ? v.isolatedBy.join() : v.reason);
  return `${side(verdict.egress)} | ${side(verdict.ingress)}`;
}

/** Up to n of the list, one group at a time round-robin (groups and members in a random order). */
function spread(list: readonly Candidate[], n: number, groupOf: (c: Candidate) => string, random: () => number): Candidate[] {
  const groups = new Map<string, Candidate[]>();
  for (const candidate of shuffled(list, random)) {
    const key = groupOf(candidate);
    const group = groups.get(key);
    if (group) group.push(candidate);
    else groups.set(key, [candidate]);
  }
  const queues = [...groups.values()];
  const chosen: Candidate[] = [];
  for (let round = 0; chosen.length < n && queues.some((q) => q.length > round); round++) {
    for (const queue of queues) {
      const candidate = queue[round];
      if (candidate !== undefined && chosen.length < n) chosen.push(candidate);
    }
  }
  return chosen;
}

function shuffled<T>(list: readonly T[], random: () => number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** mulberry32: a small, well-mixed 32-bit generator, so a seed always samples the same probes. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each destination pod serves exactly the ports and protocols it is probed on. */
function withServers(pods: readonly PodDeclaration[], sample: readonly Candidate[]): PodDeclaration[] {
  return pods.map((pod) => {
    const key = `${pod.namespace}/${pod.name}`;
    const serve = uniqueServed(sample.filter((c) => c.probe.to === key).map((c) => ({ port: c.probe.port, protocol: c.probe.protocol })));
    return { ...pod, serve };
  });
}

function servedOutside(sample: readonly Candidate[]): Served[] {
  return uniqueServed(sample.filter((c) => typeof c.probe.to !== 'string').map((c) => ({ port: c.probe.port, protocol: c.probe.protocol })));
}

function uniqueServed(list: readonly Served[]): Served[] {
  const byKey = new Map(list.map((s) => [`${s.protocol}/${s.port}`, s]));
  return [...byKey.values()];
}

// ------------------------------------------------------------------------------------------------ reproduction

/**
 * Everything needed to see and replay a disagreement: the seed, the probe, the verdict with its reasons, the
 * manifests of the two ends and of the policies that isolate them (the whole directory is copied aside), and the
 * nft chains of the two pods on their nodes.
 */
async function reproduction(cluster: Cluster, replay: string, seed: number, result: ProbeResult): Promise<string> {
  const { probe, verdict } = result;
  const copy = mkdtempSync(join(tmpdir(), `bulkhead-differential-${seed}-`));
  cpSync(cluster.manifestsDir, copy, { recursive: true });
  const isolating = new Set([...isolatedBy(verdict.egress), ...isolatedBy(verdict.ingress)]);
  const policies = cluster.snapshot.policies.filter((p) => isolating.has(`${p.namespace}/${p.name}`));
  const ends = [probe.from, probe.to].filter((end): end is string => typeof end === 'string');
  const podTexts = [...cluster.manifests()].filter(([path]) => ends.some((end) => path === `pods/${end.replace('/', '.')}.yaml`)).map(([, text]) => text);
  const chains = await Promise.all([
    ...(typeof probe.from === 'string' ? [cluster.chainListing(probe.from, 'egress')] : []),
    ...(typeof probe.to === 'string' ? [cluster.chainListing(probe.to, 'ingress')] : []),
  ]);
  return [
    `seed ${seed}: ${describeProbe(result)}`,
    `verdict: ${JSON.stringify(verdict)}`,
    `replay: ${replay} npx tsx test/dataplane/fuzz-dataplane.ts (pod addresses depend on the lab's history; ${copy} holds the exact manifests)`,
    '--- the two ends',
    ...podTexts,
    '--- the policies isolating them',
    ...policies.map((p) => stringify(policyManifest(p))),
    '--- their chains',
    ...chains,
  ].join('\n');
}

function isolatedBy(verdict: ConnectionVerdict['egress']): readonly string[] {
  return verdict.reason === 'rule' || verdict.reason === 'isolated' ? verdict.isolatedBy : [];
}
