import type { Namespace, NetworkPolicy, Peer, Pod } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { type Endpoint, selectablePod } from './endpoint.js';
import { exceptHolding, ipBlockContains } from './ipblock.js';
import { selectorMatches } from './selector.js';

/** Why a peer did not match an endpoint: what explain shows as "what did not match". */
export type PeerMismatch =
  | { readonly kind: 'not-a-pod' } // pod peers never match external hosts or hostNetwork pods
  | { readonly kind: 'other-namespace'; readonly expected: string } // no namespaceSelector: policy's own namespace
  | { readonly kind: 'namespace-labels' }
  | { readonly kind: 'pod-labels' }
  | { readonly kind: 'outside-cidr' }
  | { readonly kind: 'in-except'; readonly except: string };

function namespaceMatches(snapshot: Snapshot, policy: NetworkPolicy, peer: Peer & { kind: 'pods' }, pod: Pod): boolean {
  if (!peer.namespaceSelector) return pod.namespace === policy.namespace;
  return selectorMatches(peer.namespaceSelector, snapshot.namespace(pod.namespace).labels);
}

/** Whether a pod (not hostNetwork) is one of the pods a `pods` peer of `policy` names. */
export function podPeerMatches(snapshot: Snapshot, policy: NetworkPolicy, peer: Peer & { kind: 'pods' }, pod: Pod): boolean {
  return podSideMatches(peer, pod) && namespaceMatches(snapshot, policy, peer, pod);
}

/** The pod's own side of a `pods` peer: never a hostNetwork pod, and its podSelector (none admits every pod). */
function podSideMatches(peer: Peer & { kind: 'pods' }, pod: Pod): boolean {
  return !pod.hostNetwork && (!peer.podSelector || selectorMatches(peer.podSelector, pod.labels));
}

export function peerMatches(snapshot: Snapshot, policy: NetworkPolicy, peer: Peer, endpoint: Endpoint): boolean {
  if (peer.kind === 'ipBlock') return ipBlockContains(peer.ipBlock, endpoint.ip);
  const pod = selectablePod(endpoint);
  return pod !== undefined && podPeerMatches(snapshot, policy, peer, pod);
}

/** The reason a peer does not match, or undefined when it does. Mirrors peerMatches exactly. */
export function peerMismatch(
  snapshot: Snapshot,
  policy: NetworkPolicy,
  peer: Peer,
  endpoint: Endpoint,
): PeerMismatch | undefined {
  if (peer.kind === 'ipBlock') {
    if (ipBlockContains(peer.ipBlock, endpoint.ip)) return undefined;
    const except = exceptHolding(peer.ipBlock, endpoint.ip);
    return except ? { kind: 'in-except', except } : { kind: 'outside-cidr' };
  }
  const pod = selectablePod(endpoint);
  if (!pod) return { kind: 'not-a-pod' };
  if (!namespaceMatches(snapshot, policy, peer, pod)) {
    return peer.namespaceSelector ? { kind: 'namespace-labels' } : { kind: 'other-namespace', expected: policy.namespace };
  }
  if (peer.podSelector && !selectorMatches(peer.podSelector, pod.labels)) return { kind: 'pod-labels' };
  return undefined;
}

/** The namespaces a `pods` peer draws its pods from: those its namespaceSelector matches, else the policy's own. */
export function namespacesMatchingPeer(snapshot: Snapshot, policy: NetworkPolicy, peer: Peer & { kind: 'pods' }): Namespace[] {
  const selector = peer.namespaceSelector;
  if (!selector) return [snapshot.namespace(policy.namespace)];
  return [...snapshot.namespaces.values()].filter((ns) => selectorMatches(selector, ns.labels));
}

/**
 * Every pod a `pods` peer names (those podPeerMatches holds for), found through the namespaces it selects rather
 * than by asking of every pod of the cluster.
 */
export function podsMatchingPeer(snapshot: Snapshot, policy: NetworkPolicy, peer: Peer & { kind: 'pods' }): Pod[] {
  const pods: Pod[] = [];
  for (const ns of namespacesMatchingPeer(snapshot, policy, peer)) {
    for (const pod of snapshot.podsInNamespace(ns.name)) if (podSideMatches(peer, pod)) pods.push(pod);
  }
  return pods;
}
