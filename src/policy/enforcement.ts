// Audit mode: a policy whose enforcement is `audit` neither isolates nor allows; what it would deny passes and is
// counted (and streamed) as audit, so an operator can watch a policy's effect before enforcing it.
import { unsupportedValue } from '../model/field-issues.js';
import { type Labels, type NetworkPolicy, type ValidationError, policyKey } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';

export const ENFORCEMENT_ANNOTATION = 'bulkhead.io/enforcement';
export const ENFORCEMENT_FIELD = `metadata.annotations["${ENFORCEMENT_ANNOTATION}"]`;

export type EnforcementMode = 'enforce' | 'audit';
export const ENFORCEMENT_MODES: readonly EnforcementMode[] = ['audit', 'enforce'];

type AnnotatedMode = EnforcementMode | 'invalid' | undefined;

function annotatedMode(annotations: Labels | undefined): AnnotatedMode {
  const value = annotations?.[ENFORCEMENT_ANNOTATION];
  if (value === undefined) return undefined;
  return (ENFORCEMENT_MODES as readonly string[]).includes(value) ? (value as EnforcementMode) : 'invalid';
}

/**
 * The policy's own annotation, else its namespace's, else enforce. A value other than `audit` or `enforce` counts
 * as enforce (fail closed): on the policy it overrides an audit namespace too, as the author meant to choose.
 */
export function enforcementMode(snapshot: Snapshot, policy: NetworkPolicy): EnforcementMode {
  const own = annotatedMode(policy.annotations);
  if (own === 'invalid') return 'enforce';
  if (own !== undefined) return own;
  return annotatedMode(snapshot.namespace(policy.namespace).annotations) === 'audit' ? 'audit' : 'enforce';
}

/**
 * Namespaces and policies whose enforcement annotation is neither `audit` nor `enforce` (each counted as enforce);
 * only those of `namespaces` when given.
 */
export function enforcementErrors(snapshot: Snapshot, namespaces?: ReadonlySet<string>): ValidationError[] {
  const error = (object: string, value: string, source: string | undefined): ValidationError => ({
    object,
    field: ENFORCEMENT_FIELD,
    message: `${unsupportedValue(value, ENFORCEMENT_MODES)}; enforced until corrected (fail closed)`,
    ...(source === undefined ? {} : { source }),
  });
  const names = namespaces === undefined ? [...snapshot.namespaces.keys()] : [...namespaces].filter((name) => snapshot.namespaces.has(name));
  return names.sort().flatMap((name) => {
    const ns = snapshot.namespace(name);
    const own = annotatedMode(ns.annotations) === 'invalid' ? [error(`Namespace ${name}`, ns.annotations![ENFORCEMENT_ANNOTATION]!, undefined)] : [];
    return [
      ...own,
      ...snapshot
        .policiesInNamespace(name)
        .filter((policy) => annotatedMode(policy.annotations) === 'invalid')
        .map((policy) => error(`NetworkPolicy ${policyKey(policy)}`, policy.annotations[ENFORCEMENT_ANNOTATION]!, policy.source)),
    ];
  });
}
