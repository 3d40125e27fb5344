import { selectedPods } from '../index.js';
import { countedPods, policyTypeName } from './naming.js';
import type { LintCheck } from './warning.js';

/**
 * A policy that failed validation: it fails closed, allowing nothing while still isolating the pods it selects.
 * One warning per validation error, at the error's field.
 */
export const invalidPolicy: LintCheck = {
  id: 'invalid-policy',
  run: (snapshot) =>
    snapshot.policies.flatMap((policy) => {
      if (policy.errors.length === 0) return [];
      const pods = selectedPods(snapshot, policy);
      const isolates = pods.length === 0 ? 'no pod' : countedPods(pods);
      const types = policy.policyTypes.map(policyTypeName).join(' and ');
      return policy.errors.map((error) => {
        const warning = {
          check: 'invalid-policy' as const,
          object: error.object,
          field: error.field,
          message: `${error.message}; the policy allows nothing until fixed, yet isolates ${isolates} for ${types} (fail closed)`,
          fix: `correct ${error.field === '' ? 'the object' : error.field}: the API server rejects it as written`,
        };
        const source = error.source ?? policy.source;
        return source === undefined ? warning : { ...warning, source };
      });
    }),
};
