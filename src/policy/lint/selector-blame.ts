import type { LabelSelector, LabelSelectorRequirement, Labels } from '../../model/types.js';
import { formatSelector, selectorMatches } from '../index.js';
import { nearest } from './suggest.js';

/** One condition of a selector (a matchLabels pair or a matchExpressions entry), as a selector of its own. */
export interface SelectorTerm {
  /** `spec.podSelector.matchLabels.app`, `spec.podSelector.matchExpressions[0]` */
  readonly field: string;
  readonly key: string;
  readonly values: readonly string[];
  readonly operator: LabelSelectorRequirement['operator'] | 'Equals';
  readonly selector: LabelSelector;
  /** `app=web`, `tier in (a,b)` */
  readonly text: string;
}

export function selectorTerms(selector: LabelSelector, field: string): SelectorTerm[] {
  const pairs = Object.entries(selector.matchLabels).map(([key, value]): SelectorTerm => {
    const alone: LabelSelector = { matchLabels: { [key]: value }, matchExpressions: [] };
    return { field: `${field}.matchLabels.${key}`, key, values: [value], operator: 'Equals', selector: alone, text: formatSelector(alone) };
  });
  const expressions = selector.matchExpressions.map((req, i): SelectorTerm => {
    const alone: LabelSelector = { matchLabels: {}, matchExpressions: [req] };
    return { field: `${field}.matchExpressions[${i}]`, key: req.key, values: req.values, operator: req.operator, selector: alone, text: formatSelector(alone) };
  });
  return [...pairs, ...expressions];
}

/** Why a selector matches none of the candidates' label sets. */
export type SelectorBlame =
  /** There is nothing to match at all. */
  | { readonly kind: 'no-candidates' }
  /** Each term matches some candidate, but no candidate matches all of them. */
  | { readonly kind: 'combination' }
  /** These terms match no candidate even on their own. */
  | { readonly kind: 'terms'; readonly terms: readonly { readonly term: SelectorTerm; readonly didYouMean?: string }[] };

/** Precondition: the selector matches none of `candidates`. */
export function blameSelector(selector: LabelSelector, field: string, candidates: readonly Labels[]): SelectorBlame {
  if (candidates.length === 0) return { kind: 'no-candidates' };
  const failing = selectorTerms(selector, field).filter((term) => !candidates.some((labels) => selectorMatches(term.selector, labels)));
  if (failing.length === 0) return { kind: 'combination' };
  return {
    kind: 'terms',
    terms: failing.map((term) => {
      const didYouMean = suggestTerm(term, candidates);
      return didYouMean === undefined ? { term } : { term, didYouMean };
    }),
  };
}

/**
 * A near spelling that the candidates do carry: a value of the same key (`app: fronted` -> `app: frontend`), else a
 * near key (`ap: web` -> `app: web`). Only for terms that require a label; a NotIn or DoesNotExist that matches
 * nothing is not a typo of a label.
 */
function suggestTerm(term: SelectorTerm, candidates: readonly Labels[]): string | undefined {
  if (term.operator === 'NotIn' || term.operator === 'DoesNotExist') return undefined;
  const valuesOf = (key: string) => candidates.flatMap((labels) => (Object.hasOwn(labels, key) ? [labels[key]!] : []));
  const keyCarried = valuesOf(term.key).length > 0;
  const key = keyCarried ? term.key : nearest(term.key, candidates.flatMap((labels) => Object.keys(labels)));
  if (key === undefined) return undefined;
  if (term.operator === 'Exists') return `key ${key}`;
  const carried = valuesOf(key);
  const values = term.values.map((v) => (carried.includes(v) ? v : nearest(v, carried))).filter((v) => v !== undefined);
  if (values.length === 0) return keyCarried ? undefined : `key ${key}`;
  return term.operator === 'Equals' ? `${key}: ${values[0]}` : `${key} in (${values.join(',')})`;
}
