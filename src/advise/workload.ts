// Which labels say what workload a pod belongs to: the advisor selects pods by them, so that a rule written for the
// pods it saw also holds for their replicas and for the pods that replace them.
import type { LabelSelector, Labels, Pod } from '../model/types.js';

/** Labels that tell one pod or one revision apart, never the workload: selecting by them breaks on the next rollout. */
const PER_POD_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'pod-template-generation',
  'controller-revision-hash',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-completion-index',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
]);

/**
 * Naming conventions, best first: a pod carrying a convention's first key is identified by that key and by the
 * convention's other keys it carries (instance and component tell apart releases and roles of one app).
 */
const CONVENTIONS: readonly (readonly string[])[] = [
  ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component'],
  ['app'],
  ['k8s-app'],
  ['name'],
];

export interface Workload {
  /** matchLabels only: the labels that identify the workload. `{}` when the pod has none (every pod matches). */
  readonly selector: LabelSelector;
  /** For policy names: the identifying values, e.g. `frontend`. */
  readonly name: string;
}

export function workloadOf(pod: Pod): Workload {
  const labels = identifyingLabels(pod.labels);
  const values = Object.values(labels);
  return {
    selector: { matchLabels: labels, matchExpressions: [] },
    name: values.length > 0 ? values.join('-') : 'all-pods',
  };
}

function identifyingLabels(labels: Labels): Labels {
  for (const keys of CONVENTIONS) {
    if (labels[keys[0]!] === undefined) continue;
    return Object.fromEntries(keys.filter((key) => labels[key] !== undefined).map((key) => [key, labels[key]!]));
  }
  return Object.fromEntries(
    Object.keys(labels)
      .filter((key) => !PER_POD_LABELS.has(key))
      .sort()
      .map((key) => [key, labels[key]!]),
  );
}

/** `app=web,tier=front` in key order: the identity of a matchLabels-only selector. */
export function selectorKey(selector: LabelSelector): string {
  return Object.keys(selector.matchLabels)
    .sort()
    .map((key) => `${key}=${selector.matchLabels[key]}`)
    .join(',');
}
