import type { Pod } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SetElement } from './nft-json.js';
import { type SetPlan, elementKey } from './plan.js';

/** The elements one pod puts in a set (none when it is no member): what a pod change adds and takes away. */
export type Contribution = (snapshot: Snapshot, pod: Pod) => readonly SetElement[];

/**
 * A set kept from one compile to the next. Sets whose elements come from pods carry their contribution, so a
 * pod change patches them (its old elements out, its new ones in) instead of rebuilding them from every pod.
 * `extra` counts the contributions of a key beyond the first (two hostNetwork pods of a node declaring the same
 * named port give one element twice), so the element leaves only with its last contributor.
 */
export interface CachedSet {
  readonly plan: SetPlan;
  readonly contribution?: Contribution;
  readonly extra: ReadonlyMap<string, number>;
}

/** A cached set of these elements (in any order, repeats allowed), sorted and unique as a Plan requires. */
export function cachedSet(definition: Omit<SetPlan, 'elements'>, elements: readonly SetElement[], contribution?: Contribution): CachedSet {
  const keyed = elements.map((element) => ({ key: elementKey(definition, element), element }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const unique: SetElement[] = [];
  const extra = new Map<string, number>();
  let previous: string | undefined;
  for (const { key, element } of keyed) {
    if (key === previous) {
      extra.set(key, (extra.get(key) ?? 0) + 1);
      continue;
    }
    unique.push(element);
    previous = key;
  }
  return { plan: { ...definition, elements: unique }, ...(contribution ? { contribution } : {}), extra };
}

/**
 * The set after `removed` pods left and `added` pods came (a changed pod is in both, old and new object):
 * the same object when no element changed, so a diff can skip it by identity.
 */
export function patchCachedSet(set: CachedSet, snapshot: Snapshot, removed: readonly Pod[], added: readonly Pod[]): CachedSet {
  const contribution = set.contribution;
  if (!contribution) return set;
  const leaving = removed.flatMap((pod) => contribution(snapshot, pod));
  const coming = added.flatMap((pod) => contribution(snapshot, pod));
  if (leaving.length === 0 && coming.length === 0) return set;

  const { plan } = set;
  const elements = [...plan.elements];
  const extra = new Map(set.extra);
  const touched = new Map<string, SetElement>();
  for (const element of leaving) {
    const key = elementKey(plan, element);
    const more = extra.get(key);
    if (more !== undefined) {
      if (more > 1) extra.set(key, more - 1);
      else extra.delete(key);
      continue;
    }
    const index = search(plan, elements, key);
    if (index.found) {
      touched.set(key, elements[index.at]!);
      elements.splice(index.at, 1);
    }
  }
  for (const element of coming) {
    const key = elementKey(plan, element);
    const index = search(plan, elements, key);
    if (index.found) {
      extra.set(key, (extra.get(key) ?? 0) + 1);
      continue;
    }
    elements.splice(index.at, 0, element);
    touched.set(key, element);
  }
  // What left and came in the end: a pod that changed but kept its address leaves the element where it was.
  const adds: SetElement[] = [];
  const deletes: SetElement[] = [];
  for (const key of [...touched.keys()].sort()) {
    const before = search(plan, plan.elements, key).found;
    const after = search(plan, elements, key).found;
    if (before && !after) deletes.push(touched.get(key)!);
    if (!before && after) adds.push(touched.get(key)!);
  }
  if (adds.length === 0 && deletes.length === 0) return { ...set, extra };
  const patched: SetPlan = { ...plan, elements };
  changes.set(patched, { base: versionOf(plan), adds, deletes });
  return { ...set, plan: patched, extra };
}

/** The elements that left and came between a set and the patch of it, keys sorted, when `desired` is one. */
export function patchedElements(applied: SetPlan, desired: SetPlan): { readonly adds: readonly SetElement[]; readonly deletes: readonly SetElement[] } | undefined {
  const change = changes.get(desired);
  return change && change.base === versionOf(applied) ? change : undefined;
}

// Each patched set's change from the set it was patched from, so a diff against that set needs no merge walk
// over elements as many as the cluster's pods. Held weakly: it goes with the plan. The set it was patched from
// is named by a number, not held: holding it would hold every earlier version of the set, one through the next.
const changes = new WeakMap<SetPlan, { readonly base: number; readonly adds: readonly SetElement[]; readonly deletes: readonly SetElement[] }>();
const versions = new WeakMap<SetPlan, number>();
let lastVersion = 0;

function versionOf(set: SetPlan): number {
  let version = versions.get(set);
  if (version === undefined) {
    version = ++lastVersion;
    versions.set(set, version);
  }
  return version;
}

/** Binary search by element key: where the key is, or where it would go. */
function search(set: Pick<SetPlan, 'map'>, elements: readonly SetElement[], key: string): { found: boolean; at: number } {
  let low = 0;
  let high = elements.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const middleKey = elementKey(set, elements[middle]!);
    if (middleKey === key) return { found: true, at: middle };
    if (middleKey < key) low = middle + 1;
    else high = middle;
  }
  return { found: false, at: low };
}
