import type { IPBlock, LabelSelector, NetworkPolicy, Peer, Pod, Protocol } from '../model/types.js';
import { type AddressRange, ipBlockContains, podPeerMatches, podsMatchingPeer, resolvePolicyPort } from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { type CachedSet, type Contribution, cachedSet } from './cached-set.js';
import { sharedSetName } from './names.js';
import type { Expression } from './nft-json.js';
import type { SetPlan } from './plan.js';

/** A set of addresses of one family (alone, or first in a concatenation). */
export interface FamilySet {
  readonly family: 4 | 6;
  readonly name: string;
}

/** A named port as a rule lists it: resolved per destination pod. */
export interface NamedPort {
  readonly name: string;
  readonly protocol: Protocol;
}

/** Whose addresses a named-port set holds: the pods of a pod peer, the pods inside an ipBlock, or any pod. */
export type NamedPortTarget =
  | { readonly kind: 'pods'; readonly policy: NetworkPolicy; readonly peer: Peer & { kind: 'pods' } }
  | { readonly kind: 'ipBlock'; readonly block: IPBlock; readonly ranges: readonly AddressRange[] }
  | { readonly kind: 'any' };

/**
 * The shared sets of one compilation, drawn from (and added to) the sets kept from the compiles before. A set is
 * named by a hash of what defines its content (a peer's selectors, an ipBlock's addresses, named ports and their
 * target), never by the policy or rule that asked for it, so every rule with the same peer shares one set, and
 * pods coming and going change elements, never chains.
 */
export interface SetCatalog {
  /** Twin sets (IPv4, IPv6) of the peer's pod addresses, both always present so any pod can join later. */
  podPeer(policy: NetworkPolicy, peer: Peer & { kind: 'pods' }): FamilySet[];
  /** An interval set of the ranges (all of one family). */
  addressRanges(ranges: readonly AddressRange[], family: 4 | 6): string;
  /**
   * Sets of `address . inet_proto . inet_service` for each destination pod of the target and each named port
   * it declares: twins, or only the family of an ipBlock target.
   */
  namedPorts(target: NamedPortTarget, ports: readonly NamedPort[]): FamilySet[];
}

/**
 * `cache` holds the sets of earlier compiles, already patched for the pods that changed since (cached-set.ts);
 * a set asked for and not there is built from the snapshot's indexes and kept.
 */
export function createSetCatalog(snapshot: Snapshot, cache: Map<string, CachedSet>): SetCatalog {
  const peerPods = new Map<string, readonly Pod[]>();
  let podsDeclaringPorts: Map<string, Pod[]> | undefined;

  const matchingPods = (policy: NetworkPolicy, peer: Peer & { kind: 'pods' }): readonly Pod[] => {
    const key = podPeerKey(policy, peer);
    let pods = peerPods.get(key);
    if (!pods) {
      pods = podsMatchingPeer(snapshot, policy, peer);
      peerPods.set(key, pods);
    }
    return pods;
  };

  // Named ports towards an ipBlock or any destination resolve against whichever pod is there, hostNetwork
  // pods included (as resolvePolicyPort does for such a destination); index once who declares what.
  const podsDeclaring = (port: NamedPort): readonly Pod[] => {
    if (!podsDeclaringPorts) {
      podsDeclaringPorts = new Map();
      for (const pod of snapshot.pods) {
        for (const declared of pod.ports) {
          if (declared.name === undefined) continue;
          const key = namedPortKey({ name: declared.name, protocol: declared.protocol });
          const declaring = podsDeclaringPorts.get(key);
          if (declaring) declaring.push(pod);
          else podsDeclaringPorts.set(key, [pod]);
        }
      }
    }
    return podsDeclaringPorts.get(namedPortKey(port)) ?? [];
  };

  const familySets = (
    kind: 'peer' | 'nport',
    key: string,
    families: readonly (4 | 6)[],
    type: (family: 4 | 6) => SetPlan['type'],
    members: () => readonly Pod[],
    contribution: (family: 4 | 6) => Contribution,
  ): FamilySet[] =>
    families.map((family) => {
      const name = sharedSetName(kind, family, key);
      if (!cache.has(name)) {
        const contribute = contribution(family);
        cache.set(name, cachedSet({ name, type: type(family), interval: false }, members().flatMap((pod) => contribute(snapshot, pod)), contribute));
      }
      return { family, name };
    });

  return {
    podPeer(policy, peer) {
      return familySets(
        'peer',
        podPeerKey(policy, peer),
        [4, 6],
        addressType,
        () => matchingPods(policy, peer),
        // Only the policy's namespace and the peer's selectors decide membership: the set's key.
        (family) => (at, pod) => (podPeerMatches(at, policy, peer, pod) ? addressesOf(pod, family) : []),
      );
    },

    addressRanges(ranges, family) {
      const key = JSON.stringify(ranges);
      const name = sharedSetName('cidr', family, key);
      if (!cache.has(name)) cache.set(name, cachedSet({ name, type: addressType(family), interval: true }, ranges.map(rangeElement)));
      return name;
    },

    namedPorts(target, ports) {
      const sortedPorts = [...new Map(ports.map((p) => [namedPortKey(p), p])).values()].sort((a, b) =>
        namedPortKey(a) < namedPortKey(b) ? -1 : 1,
      );
      const key = JSON.stringify({ target: targetKey(target), ports: sortedPorts.map(namedPortKey) });
      const families = target.kind === 'ipBlock' ? [...new Set(target.ranges.map((r) => r.family))] : ([4, 6] as const);
      const members = (): readonly Pod[] => {
        switch (target.kind) {
          case 'pods':
            return matchingPods(target.policy, target.peer);
          case 'ipBlock':
          case 'any':
            return [...new Set(sortedPorts.flatMap(podsDeclaring))];
          default: {
            const unreachable: never = target;
            return unreachable;
          }
        }
      };
      const isDestination = (at: Snapshot, pod: Pod): boolean => {
        switch (target.kind) {
          case 'pods':
            return podPeerMatches(at, target.policy, target.peer, pod);
          case 'ipBlock':
          case 'any':
            return true;
          default: {
            const unreachable: never = target;
            return unreachable;
          }
        }
      };
      const admits = (ip: string): boolean => target.kind !== 'ipBlock' || ipBlockContains(target.block, ip);
      return familySets(
        'nport',
        key,
        families,
        (family) => [addressType(family), 'inet_proto', 'inet_service'],
        members,
        (family) => (at, pod) => {
          if (!isDestination(at, pod)) return [];
          return sortedPorts.flatMap((port) => {
            const resolution = resolvePolicyPort({ protocol: port.protocol, port: port.name }, pod);
            if (resolution.kind !== 'range') return [];
            return addressesOf(pod, family)
              .filter(admits)
              .map((ip): Expression => ({ concat: [ip, protocolName(port.protocol), resolution.range.first] }));
          });
        },
      );
    },
  };
}

export function protocolName(protocol: Protocol): string {
  return protocol.toLowerCase();
}

export function addressType(family: 4 | 6): 'ipv4_addr' | 'ipv6_addr' {
  return family === 4 ? 'ipv4_addr' : 'ipv6_addr';
}

/**
 * A pod's addresses of one family. Pod IPs are canonical and never IPv4-mapped (the model's contract), so the
 * family shows in the text: parsing 200,000 addresses was most of a cluster-wide compile.
 */
export function addressesOf(pod: Pod, family: 4 | 6): readonly string[] {
  return pod.ips.filter((ip) => ip.includes(':') === (family === 6));
}

function rangeElement(range: AddressRange): Expression {
  return range.prefixLength === undefined
    ? { range: [range.first, range.last] }
    : { prefix: { addr: range.first, len: range.prefixLength } };
}

function namedPortKey(port: NamedPort): string {
  return `${port.protocol}/${port.name}`;
}

/**
 * What decides a pod peer's members: its namespaces (the policy's own when no namespaceSelector) and its pod
 * selector (absent = every pod). Selectors are written canonically so equal selectors share a set.
 */
function podPeerKey(policy: NetworkPolicy, peer: Peer & { kind: 'pods' }): string {
  return JSON.stringify({
    namespaces: peer.namespaceSelector ? canonicalSelector(peer.namespaceSelector) : policy.namespace,
    pods: canonicalSelector(peer.podSelector ?? { matchLabels: {}, matchExpressions: [] }),
  });
}

function canonicalSelector(selector: LabelSelector): unknown {
  const labels = Object.entries(selector.matchLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const expressions = selector.matchExpressions
    .map((e) => [e.key, e.operator, [...new Set(e.values)].sort()] as const)
    .map((e) => JSON.stringify(e))
    .sort();
  return { labels, expressions: [...new Set(expressions)] };
}

function targetKey(target: NamedPortTarget): unknown {
  switch (target.kind) {
    case 'pods':
      return { pods: podPeerKey(target.policy, target.peer) };
    case 'ipBlock':
      return { ranges: target.ranges };
    case 'any':
      return 'any';
    default: {
      const unreachable: never = target;
      return unreachable;
    }
  }
}
