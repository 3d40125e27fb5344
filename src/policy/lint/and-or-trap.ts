import type { LabelSelector, NetworkPolicy, Peer } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { formatSelector, podsMatchingPeer } from '../index.js';
import { type PeerAt, enforcedRules, peersListName, peersOf, validPolicies } from './walk.js';
import { type LintCheck, type LintWarning, policyWarning } from './warning.js';

/**
 * `- namespaceSelector: ...` and `- podSelector: ...` as two entries of one from/to list: two peers, OR'd, so every
 * pod of those namespaces gets in, where one peer with both selectors (AND) was almost always meant.
 * Two peers that each carry both selectors are OR'd too, and that is correct usage: not flagged. Only a list of
 * exactly those two halves is the trap: with a third peer (the API reference's own ipBlock + namespaceSelector +
 * podSelector example) the list is plainly meant as alternatives.
 */
export const andOrTrap: LintCheck = {
  id: 'and-or-trap',
  run: (snapshot) =>
    validPolicies(snapshot).flatMap((policy) =>
      enforcedRules(policy).flatMap((rule) => {
        const peers = peersOf(rule);
        if (peers.length !== 2) return [];
        const halves = peers.map(half).filter((h) => h !== undefined);
        const namespaceHalves = halves.filter((h) => h.kind === 'namespaces');
        return halves
          .filter((h) => h.kind === 'pods')
          .flatMap((pods) => (namespaceHalves.length === 0 ? [] : [trapWarning(snapshot, policy, nearestAbove(pods, namespaceHalves), pods)]));
      }),
    ),
};

/** A peer with only one of the two selectors. */
interface Half {
  readonly kind: 'namespaces' | 'pods';
  readonly at: PeerAt;
  readonly peer: Peer & { kind: 'pods' };
  readonly selector: LabelSelector;
}

function half(at: PeerAt): Half | undefined {
  const { peer } = at;
  if (peer.kind !== 'pods') return undefined;
  if (peer.namespaceSelector && !peer.podSelector) return { kind: 'namespaces', at, peer, selector: peer.namespaceSelector };
  if (peer.podSelector && !peer.namespaceSelector) return { kind: 'pods', at, peer, selector: peer.podSelector };
  return undefined;
}

/** The namespace-only peer the stray `-` most likely split from: the nearest one, preferring the one above. */
function nearestAbove(pods: Half, candidates: readonly Half[]): Half {
  const gap = (c: Half) => Math.abs(c.at.index - pods.at.index) * 2 + (c.at.index > pods.at.index ? 1 : 0);
  return candidates.reduce((best, c) => (gap(c) < gap(best) ? c : best));
}

function trapWarning(snapshot: Snapshot, policy: NetworkPolicy, namespaces: Half, pods: Half): LintWarning {
  const list = peersListName(pods.at.rule.direction);
  const admitted = podsMatchingPeer(snapshot, policy, namespaces.peer).length;
  return policyWarning('and-or-trap', policy, {
    field: pods.at.field,
    message:
      `${list}[${namespaces.at.index}] has only namespaceSelector ${formatSelector(namespaces.selector)} and ${list}[${pods.at.index}] ` +
      `only podSelector ${formatSelector(pods.selector)}: as two peers they are OR'd, admitting every pod of those namespaces ` +
      `(${admitted} in the snapshot) plus those pods of namespace ${policy.namespace}`,
    fix: "merge them into one peer (drop the '-' before podSelector) if you meant pods matching both",
  });
}
