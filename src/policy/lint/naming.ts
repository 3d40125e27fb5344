import type { Direction, Namespace, Pod } from '../../model/types.js';
import { podKey } from '../../model/types.js';

// How lint names things in its one-line messages: a few by name, the rest counted.

const NAMED = 3;

function listSome(names: readonly string[]): string {
  const sorted = [...names].sort();
  const shown = sorted.slice(0, NAMED).join(', ');
  return sorted.length > NAMED ? `${shown} and ${sorted.length - NAMED} more` : shown;
}

export function countedPods(pods: readonly Pod[]): string {
  return `${pods.length} pod${pods.length === 1 ? '' : 's'} (${listSome(pods.map(podKey))})`;
}

export function namespaceNames(namespaces: readonly Namespace[]): string {
  return listSome(namespaces.map((ns) => ns.name));
}

/** As written in the manifest: `Ingress`, `Egress`. */
export function policyTypeName(direction: Direction): string {
  return direction === 'ingress' ? 'Ingress' : 'Egress';
}
