import { appliesTo, isEmptySelector, isIsolated, selectedPods } from '../index.js';
import { countedPods } from './naming.js';
import { validPolicies } from './walk.js';
import { type LintCheck, policyWarning } from './warning.js';

/**
 * An ingress-only policy with ingress rules, written as if it locked the namespace down (podSelector `{}`), while
 * egress of its pods stays open: seed article 003's "Mistake 2", where
 * policyTypes is left out and defaults to Ingress alone. Said only for pods that no policy isolates for egress, and
 * not when the author wrote policyTypes: [Ingress] (a choice); when that is unknown (the API server fills policyTypes
 * in), it is said, as egress does stay open.
 */
export const egressLeftOpen: LintCheck = {
  id: 'egress-left-open',
  run: (snapshot) =>
    validPolicies(snapshot).flatMap((policy) => {
      const ingressOnly = appliesTo(policy, 'ingress') && !appliesTo(policy, 'egress');
      if (!ingressOnly || policy.policyTypesDefaulted === false || policy.ingress.length === 0 || policy.egress.length > 0) return [];
      // A namespace-wide policy ({} selector) reads as a lockdown; one aimed at some pods reads as ingress-only on purpose.
      if (!isEmptySelector(policy.podSelector)) return [];
      const open = selectedPods(snapshot, policy).filter((pod) => !isIsolated(snapshot, pod, 'egress'));
      if (open.length === 0) return [];
      return [
        policyWarning('egress-left-open', policy, {
          field: 'spec.policyTypes',
          message: `${policy.policyTypesDefaulted ? 'no policyTypes: it defaults to' : 'policyTypes is'} Ingress only, so egress stays open: no policy isolates ${countedPods(open)} for egress`,
          fix: 'if egress was meant too, set policyTypes: [Ingress, Egress] with the egress rules these pods need (DNS at least), or add a default-deny egress policy',
        }),
      ];
    }),
};
