import type { Direction } from '../../model/types.js';
import { appliesTo, rulesOf } from '../index.js';
import { policyTypeName } from './naming.js';
import { validPolicies } from './walk.js';
import { type LintCheck, policyWarning } from './warning.js';

/**
 * Rules of a direction that policyTypes leaves out. The loader defaults policyTypes from the rules, so this only
 * happens when policyTypes was written without that direction: its rules are silently ignored.
 */
function rulesIgnored(direction: Direction): LintCheck {
  const id = direction === 'egress' ? 'egress-rules-ignored' : 'ingress-rules-ignored';
  const type = policyTypeName(direction);
  return {
    id,
    run: (snapshot) =>
      validPolicies(snapshot)
        .filter((policy) => rulesOf(policy, direction).length > 0 && !appliesTo(policy, direction))
        .map((policy) => {
          const count = rulesOf(policy, direction).length;
          const given = policy.policyTypes.map(policyTypeName).join(', ');
          return policyWarning(id, policy, {
            field: `spec.${direction}`,
            message: `spec.${direction} has ${count} rule${count === 1 ? '' : 's'} but policyTypes [${given}] leaves out ${type}, so ${count === 1 ? 'it is' : 'they are'} ignored`,
            fix: `add ${type} to spec.policyTypes (this also isolates the selected pods for ${direction}), or delete spec.${direction}`,
          });
        }),
  };
}

export const egressRulesIgnored = rulesIgnored('egress');
export const ingressRulesIgnored = rulesIgnored('ingress');
