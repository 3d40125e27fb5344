import type { LabelSelector, Labels, NetworkPolicy, Peer } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { formatSelector, namespacesMatchingPeer, podsMatchingPeer, selectedPods } from '../index.js';
import { namespaceNames } from './naming.js';
import { blameSelector } from './selector-blame.js';
import { enforcedRules, peersOf, validPolicies } from './walk.js';
import { type LintCheck, type LintWarning, policyWarning } from './warning.js';

const SELECT_ALL: LabelSelector = { matchLabels: {}, matchExpressions: [] };

/**
 * A selector that matches nothing in the snapshot: the policy's podSelector (the policy applies to no pod) or a
 * peer's (the peer admits nobody). Points at the term to blame, with a did-you-mean for near spellings.
 */
export const selectorMatchesNothing: LintCheck = {
  id: 'selector-matches-nothing',
  run: (snapshot) =>
    validPolicies(snapshot).flatMap((policy) => [
      ...policySelectorWarnings(snapshot, policy),
      ...enforcedRules(policy).flatMap((rule) =>
        peersOf(rule).flatMap(({ peer, field }) => (peer.kind === 'pods' ? peerWarnings(snapshot, policy, peer, field) : [])),
      ),
    ]),
};

/** Where a selector looks and what it finds there, for the messages. */
interface Search {
  readonly noun: 'pod' | 'namespace';
  /** ` in namespace prod` */
  readonly scope: string;
  /** What matching nothing means for the policy. */
  readonly consequence: string;
  /** What to look at when no near spelling is known. */
  readonly lookAt: string;
}

function policySelectorWarnings(snapshot: Snapshot, policy: NetworkPolicy): LintWarning[] {
  if (selectedPods(snapshot, policy).length > 0) return [];
  const selectable = selectedPods(snapshot, { ...policy, podSelector: SELECT_ALL });
  return selectorWarnings(policy, policy.podSelector, 'spec.podSelector', selectable.map((pod) => pod.labels), {
    noun: 'pod',
    scope: ` in namespace ${policy.namespace}`,
    consequence: 'this policy applies to no pod',
    lookAt: `kubectl get pods -n ${policy.namespace} --show-labels`,
  });
}

function peerWarnings(snapshot: Snapshot, policy: NetworkPolicy, peer: Peer & { kind: 'pods' }, field: string): LintWarning[] {
  const namespaces = namespacesMatchingPeer(snapshot, policy, peer);
  const consequence = 'this peer admits nobody';
  if (peer.namespaceSelector && namespaces.length === 0) {
    const all = [...snapshot.namespaces.values()];
    return selectorWarnings(policy, peer.namespaceSelector, `${field}.namespaceSelector`, all.map((ns) => ns.labels), {
      noun: 'namespace',
      scope: '',
      consequence,
      lookAt: 'kubectl get namespaces --show-labels',
    });
  }
  if (podsMatchingPeer(snapshot, policy, peer).length > 0) return [];
  if (!peer.podSelector) {
    // Only a namespaceSelector (a peer has one of the two at least): it selects namespaces, but they hold no pod.
    return [
      policyWarning('selector-matches-nothing', policy, {
        field: `${field}.namespaceSelector`,
        message: `the namespaces this namespaceSelector selects (${namespaceNames(namespaces)}) have no pods in the snapshot, so ${consequence}`,
        fix: 'check that these are the namespaces meant, or include their pods in the input',
      }),
    ];
  }
  // What the podSelector chooses from: the pods of the selected namespaces, as the peer without its podSelector.
  const candidates = podsMatchingPeer(snapshot, policy, { kind: 'pods', ...(peer.namespaceSelector ? { namespaceSelector: peer.namespaceSelector } : {}) });
  return selectorWarnings(policy, peer.podSelector, `${field}.podSelector`, candidates.map((pod) => pod.labels), {
    noun: 'pod',
    scope: peer.namespaceSelector ? ` in namespaces ${namespaceNames(namespaces)}` : ` in namespace ${policy.namespace}`,
    consequence,
    lookAt: peer.namespaceSelector ? 'kubectl get pods -A --show-labels' : `kubectl get pods -n ${policy.namespace} --show-labels`,
  });
}

function selectorWarnings(
  policy: NetworkPolicy,
  selector: LabelSelector,
  field: string,
  candidates: readonly Labels[],
  search: Search,
): LintWarning[] {
  const name = field.slice(field.lastIndexOf('.') + 1);
  const blame = blameSelector(selector, field, candidates);
  const warn = (at: string, message: string, fix: string) =>
    policyWarning('selector-matches-nothing', policy, { field: at, message, fix });
  switch (blame.kind) {
    case 'no-candidates':
      return [
        warn(
          field,
          `${name} ${formatSelector(selector)} matches nothing: there is no ${search.noun}${search.scope} in the snapshot, so ${search.consequence}`,
          `check the ${search.noun === 'pod' ? 'namespace' : 'namespaces'} meant, or include the ${search.noun}s in the input`,
        ),
      ];
    case 'combination':
      return [
        warn(
          field,
          `${name} ${formatSelector(selector)} matches no ${search.noun}${search.scope}: none has all of these labels together, so ${search.consequence}`,
          `drop or correct the condition the intended ${search.noun}s do not meet (${search.lookAt})`,
        ),
      ];
    case 'terms':
      return blame.terms.map(({ term, didYouMean }) =>
        warn(
          term.field,
          `${name} term ${term.text} matches no ${search.noun}${search.scope}, so ${search.consequence}${didYouMean ? `; did you mean ${didYouMean}?` : ''}`,
          didYouMean ? `change it to ${didYouMean}` : `use a label the intended ${search.noun}s carry (${search.lookAt})`,
        ),
      );
    default: {
      const unreachable: never = blame;
      return unreachable;
    }
  }
}
