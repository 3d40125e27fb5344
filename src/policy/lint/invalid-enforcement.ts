import { enforcementErrors } from '../enforcement.js';
import type { LintCheck } from './warning.js';

/** An enforcement annotation that is neither audit nor enforce: the policies it covers are enforced (fail closed). */
export const invalidEnforcement: LintCheck = {
  id: 'invalid-enforcement',
  run: (snapshot) =>
    enforcementErrors(snapshot).map((error) => {
      const warning = {
        check: 'invalid-enforcement' as const,
        object: error.object,
        field: error.field,
        message: error.message,
        fix: 'write "audit" to count what the policies would deny and let it pass, or "enforce" (or remove the annotation) to enforce them',
      };
      return error.source === undefined ? warning : { ...warning, source: error.source };
    }),
};
