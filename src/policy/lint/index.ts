import type { Snapshot } from '../../snapshot/snapshot.js';
import { andOrTrap } from './and-or-trap.js';
import { dnsBlocked } from './dns-blocked.js';
import { egressLeftOpen } from './egress-left-open.js';
import { invalidEnforcement } from './invalid-enforcement.js';
import { invalidPolicy } from './invalid-policy.js';
import { ipBlockCoversPods } from './ipblock-covers-pods.js';
import { namedPortUndeclared } from './named-port-undeclared.js';
import { namespaceLabelMissing } from './namespace-label-missing.js';
import { egressRulesIgnored, ingressRulesIgnored } from './rules-ignored.js';
import { selectorMatchesNothing } from './selector-matches-nothing.js';
import { type CheckId, type LintCheck, type LintWarning } from './warning.js';

export { CHECK_IDS, type CheckId, type LintWarning } from './warning.js';

const CHECKS: readonly LintCheck[] = [
  selectorMatchesNothing,
  andOrTrap,
  egressRulesIgnored,
  ingressRulesIgnored,
  egressLeftOpen,
  dnsBlocked,
  namespaceLabelMissing,
  namedPortUndeclared,
  ipBlockCoversPods,
  invalidPolicy,
  invalidEnforcement,
];

/**
 * Where two checks see the same field, the more specific one speaks alone: a namespaceSelector on a label no
 * namespace has also matches nothing, and the fix is the one namespace-label-missing gives.
 */
const SUPERSEDES: Partial<Record<CheckId, readonly CheckId[]>> = {
  'namespace-label-missing': ['selector-matches-nothing'],
};

export interface LintOptions {
  /** Checks not to run, e.g. egress-left-open in a cluster that does not control egress on purpose. */
  readonly disable?: readonly CheckId[];
}

/** Every warning about the snapshot's policies, ordered by object, then field (numbers in paths compared as numbers). */
export function lint(snapshot: Snapshot, options: LintOptions = {}): LintWarning[] {
  const disabled = new Set(options.disable ?? []);
  const warnings = CHECKS.filter((check) => !disabled.has(check.id)).flatMap((check) => check.run(snapshot));
  return dropSuperseded(warnings).sort(byObjectThenField);
}

function dropSuperseded(warnings: readonly LintWarning[]): LintWarning[] {
  const at = (w: LintWarning) => `${w.object}\u0000${w.field}`;
  const checksAt = new Map<string, Set<CheckId>>();
  for (const w of warnings) {
    const set = checksAt.get(at(w)) ?? new Set<CheckId>();
    set.add(w.check);
    checksAt.set(at(w), set);
  }
  return warnings.filter((w) => {
    const here = checksAt.get(at(w))!;
    return ![...here].some((other) => SUPERSEDES[other]?.includes(w.check));
  });
}

function byObjectThenField(a: LintWarning, b: LintWarning): number {
  return (
    naturalCompare(a.object, b.object) ||
    naturalCompare(a.field, b.field) ||
    naturalCompare(a.check, b.check) ||
    naturalCompare(a.message, b.message)
  );
}

/** Compares digit runs as numbers so `from[10]` sorts after `from[2]`; the rest by code unit, locale-free. */
function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const numeric = /^\d/.test(x) && /^\d/.test(y);
    if (numeric && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}
