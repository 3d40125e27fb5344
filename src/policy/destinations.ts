import { type Direction, type IPBlock, type NetworkPolicy, type Pod, policyKey } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { ipBlockContains } from './ipblock.js';
import { selectedPods } from './isolation.js';
import { podsMatchingPeer } from './peers.js';
import { rulesOf } from './verdict.js';

// Per snapshot, by block text: many policies repeat the same few blocks, and each scan visits every pod address.
const addressedMemo = new WeakMap<Snapshot, Map<string, readonly Pod[]>>();

/** Every pod (hostNetwork ones included) holding an address inside the block: what an ipBlock peer reaches by IP. */
export function podsAddressedBy(snapshot: Snapshot, block: IPBlock): readonly Pod[] {
  let perBlock = addressedMemo.get(snapshot);
  if (!perBlock) {
    perBlock = new Map();
    addressedMemo.set(snapshot, perBlock);
  }
  const key = [block.cidr, ...block.except].join(' ');
  let pods = perBlock.get(key);
  if (!pods) {
    pods = snapshot.pods.filter((pod) => pod.ips.some((ip) => ipBlockContains(block, ip)));
    perBlock.set(key, pods);
  }
  return pods;
}

/**
 * The pods a rule's named ports resolve against (the destination of the connections it admits): for ingress the
 * pods the policy selects; for egress the pods its peers reach (every pod when `to` is empty). External hosts
 * declare no ports, so they add nothing.
 */
export function namedPortDestinations(snapshot: Snapshot, policy: NetworkPolicy, direction: Direction, index: number): Pod[] {
  if (direction === 'ingress') return selectedPods(snapshot, policy);
  const rule = rulesOf(policy, direction)[index];
  if (!rule) throw new RangeError(`${policyKey(policy)} has no ${direction} rule ${index}`);
  if (rule.peers.length === 0) return [...snapshot.pods];
  const found = new Set<Pod>();
  for (const peer of rule.peers) {
    const pods = peer.kind === 'pods' ? podsMatchingPeer(snapshot, policy, peer) : podsAddressedBy(snapshot, peer.ipBlock);
    for (const pod of pods) found.add(pod);
  }
  return [...found];
}
