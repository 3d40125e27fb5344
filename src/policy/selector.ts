import type { LabelSelector, LabelSelectorRequirement, Labels } from '../model/types.js';

type Matcher = (labels: Labels) => boolean;

// Selectors are matched millions of times by simulate and the compiler; compile each once.
const compiled = new WeakMap<LabelSelector, Matcher>();

/** metav1.LabelSelector semantics: matchLabels and every matchExpression must hold (AND); `{}` matches all. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  let matcher = compiled.get(selector);
  if (!matcher) {
    matcher = compileSelector(selector);
    compiled.set(selector, matcher);
  }
  return matcher(labels);
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}

export function requirementMatches(req: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.includes(labels[req.key] as string);
    case 'NotIn':
      // As upstream: a missing key satisfies NotIn.
      return !has || !req.values.includes(labels[req.key] as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default: {
      const unreachable: never = req.operator;
      throw new Error(`unknown selector operator ${String(unreachable)}`);
    }
  }
}

function compileSelector(selector: LabelSelector): Matcher {
  const pairs = Object.entries(selector.matchLabels);
  const expressions = selector.matchExpressions;
  if (pairs.length === 0 && expressions.length === 0) return () => true;
  return (labels) => {
    for (const [key, value] of pairs) {
      if (labels[key] !== value || !Object.prototype.hasOwnProperty.call(labels, key)) return false;
    }
    for (const req of expressions) {
      if (!requirementMatches(req, labels)) return false;
    }
    return true;
  };
}

/** `app=web,tier in (a,b)` — the kubectl form, for messages. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions) {
    switch (req.operator) {
      case 'In':
        parts.push(`${req.key} in (${req.values.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${req.key} notin (${req.values.join(',')})`);
        break;
      case 'Exists':
        parts.push(req.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${req.key}`);
        break;
    }
  }
  return parts.length === 0 ? '{}' : parts.join(',');
}
