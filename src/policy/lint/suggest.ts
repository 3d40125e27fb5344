import { closest, distance } from 'fastest-levenshtein';

/**
 * The known string nearest to `typed`, when near enough to be a typo of it: at most a third of its length
 * (at least one) edits away. Deterministic: ties go to the first in sorted order.
 */
export function nearest(typed: string, known: Iterable<string>): string | undefined {
  const candidates = [...new Set(known)].filter((k) => k !== typed).sort();
  if (candidates.length === 0) return undefined;
  const best = closest(typed, candidates);
  return distance(typed, best) <= Math.max(1, Math.floor(typed.length / 3)) ? best : undefined;
}
