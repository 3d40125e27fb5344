import { METADATA_NAME_LABEL } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { type SelectorTerm, selectorTerms } from './selector-blame.js';
import { nearest } from './suggest.js';
import { enforcedRules, peersOf, validPolicies } from './walk.js';
import { type LintCheck, policyWarning } from './warning.js';

/**
 * A namespaceSelector on a label no namespace carries, typically `name: kube-system` copied from an article that
 * labels its namespaces by hand. Required (matchLabels, In, Exists), it selects no namespace; excluded (NotIn,
 * DoesNotExist), it excludes none, so "every namespace but kube-system" is every namespace. The API server sets
 * kubernetes.io/metadata.name on every namespace: that is the label to select names by.
 */
export const namespaceLabelMissing: LintCheck = {
  id: 'namespace-label-missing',
  run: (snapshot) => {
    const keys = new Set([...snapshot.namespaces.values()].flatMap((ns) => Object.keys(ns.labels)));
    return validPolicies(snapshot).flatMap((policy) =>
      enforcedRules(policy).flatMap((rule) =>
        peersOf(rule).flatMap(({ peer, field }) => {
          if (peer.kind !== 'pods' || !peer.namespaceSelector) return [];
          return selectorTerms(peer.namespaceSelector, `${field}.namespaceSelector`)
            .filter((term) => !keys.has(term.key))
            .map((term) => {
              const near = nearest(term.key, keys);
              const message = `no namespace has the label ${term.key}, so namespaceSelector term ${term.text} ${effect(term)}`;
              return policyWarning('namespace-label-missing', policy, {
                field: term.field,
                message: near === undefined ? message : `${message}; did you mean ${near}?`,
                fix: near === undefined ? fixFor(snapshot, term) : `change the key to ${near}`,
              });
            });
        }),
      ),
    );
  },
};

function effect(term: SelectorTerm): string {
  return term.operator === 'NotIn' || term.operator === 'DoesNotExist'
    ? 'holds for every namespace and excludes none'
    : 'selects no namespace';
}

function fixFor(snapshot: Snapshot, term: SelectorTerm): string {
  // One namespace's name among the values says they are names.
  if (term.values.some((value) => snapshot.namespaces.has(value))) {
    const { values } = term;
    const byName = term.operator === 'Equals' ? `${METADATA_NAME_LABEL}: ${values[0]}` : `${METADATA_NAME_LABEL} ${term.operator} [${values.join(', ')}]`;
    return `select namespaces by name with ${byName} (the API server sets it on every namespace)`;
  }
  return `label the namespaces meant (kubectl label namespace NAME ${term.key}=VALUE), or select names with ${METADATA_NAME_LABEL}`;
}
