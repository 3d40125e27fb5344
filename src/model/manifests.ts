// Manifests -> the validated objects of a cluster, as `kubectl apply -f` of them would leave it.
import { readCidr, type Cidr } from './addresses.js';
import { assignAddresses, byNamespaceAndName, DEFAULT_NODE_CIDRS, describePod } from './assign-addresses.js';
import { type ManifestObject, type ManifestText, readDocuments } from './documents.js';
import { indexPath, invalidValue } from './field-issues.js';
import { classify } from './object-kinds.js';
import { implicitNamespace, readNamespace } from './parse-namespace.js';
import { readPod, readWorkload } from './parse-pod.js';
import { readNetworkPolicy } from './parse-policy.js';
import { type Namespace, type NetworkPolicy, type Pod, podKey, policyKey, type ValidationError } from './types.js';

/** kubectl's namespace when none is given. */
export const DEFAULT_NAMESPACE = 'default';

export interface LoadOptions {
  /** The namespace of objects that name none (the CLI's `-n`). */
  readonly defaultNamespace: string;
  /** Where pods without addresses get theirs; one address of each family given. */
  readonly podCidrs: readonly string[];
  /** Where hostNetwork pods without addresses get their node's; DEFAULT_NODE_CIDRS when absent. */
  readonly nodeCidrs?: readonly string[];
}

/** Same shape as an error, but the object it names is still used as given. */
export type LoadWarning = ValidationError;

export interface LoadResult {
  /** Given namespaces, and implicit ones for every namespace an object lives in; by name. */
  readonly namespaces: readonly Namespace[];
  /** Valid pods, and one pod for each workload; by namespace/name. */
  readonly pods: readonly Pod[];
  /** Valid policies, and invalid ones failing closed (`errors` non-empty); by namespace/name. */
  readonly policies: readonly NetworkPolicy[];
  /**
   * Everything wrong, including each invalid policy's errors. A document that is not even YAML is an error here
   * and its objects are missing from the result, so a caller enforcing policy must not go on with errors.
   */
  readonly errors: readonly ValidationError[];
  readonly warnings: readonly LoadWarning[];
}

interface Entry<T> {
  readonly value: T;
  readonly source: string;
}

export function parseManifests(manifests: readonly ManifestText[], options: LoadOptions): LoadResult {
  const errors: ValidationError[] = [];
  const warnings: LoadWarning[] = [];
  const podCidrs = readRanges(options.podCidrs, 'podCidrs', errors);
  const nodeCidrs = readRanges(options.nodeCidrs ?? DEFAULT_NODE_CIDRS, 'nodeCidrs', errors);

  const namespaces = new Map<string, Entry<Namespace>>();
  const pods = new Map<string, Entry<Pod>>();
  const policies = new Map<string, Entry<NetworkPolicy>>();
  const keep = <T>(map: Map<string, Entry<T>>, key: string, value: T, source: string) => {
    const earlier = map.get(key);
    if (earlier) {
      warnings.push({ object: key, field: '', message: `defined again; this definition replaces the one in ${earlier.source}`, source });
    }
    map.set(key, { value, source });
  };
  let unnamedPolicies = 0;

  for (const manifest of manifests) {
    const documents = readDocuments(manifest);
    errors.push(...documents.errors);
    warnings.push(...documents.warnings);
    for (const object of documents.objects) {
      const classification = classify(object.kind, object.apiVersion);
      if (!classification.read) {
        if (classification.warning) {
          warnings.push({ object: describeRaw(object, options.defaultNamespace), field: 'apiVersion', message: classification.warning, source: object.source });
        }
        continue;
      }
      const context = { defaultNamespace: options.defaultNamespace, apiVersionIssue: classification.apiVersionIssue };
      switch (classification.kind) {
        case 'Namespace': {
          const reading = readNamespace(object, classification.apiVersionIssue);
          errors.push(...reading.errors);
          warnings.push(...reading.warnings);
          if (reading.namespace) keep(namespaces, `Namespace ${reading.namespace.name}`, reading.namespace, object.source);
          break;
        }
        case 'NetworkPolicy': {
          const reading = readNetworkPolicy(object, { ...context, fallbackName: `unnamed-${++unnamedPolicies}` });
          errors.push(...reading.errors);
          warnings.push(...reading.warnings);
          if (reading.policy) {
            keep(policies, `NetworkPolicy ${policyKey(reading.policy)}`, reading.policy, object.source);
          }
          break;
        }
        case 'Pod':
        case 'Deployment':
        case 'StatefulSet':
        case 'DaemonSet':
        case 'ReplicaSet':
        case 'Job':
        case 'CronJob': {
          const kind = classification.kind;
          const reading = kind === 'Pod' ? readPod(object, context) : readWorkload(object, kind, context);
          errors.push(...reading.errors);
          warnings.push(...reading.warnings);
          if (reading.pod) keep(pods, describePod(reading.pod), reading.pod, object.source);
          break;
        }
        default: {
          const unreachable: never = classification.kind;
          return unreachable;
        }
      }
    }
  }

  const podList = [...pods.values()].map((entry) => entry.value);
  warnings.push(...podNameClashes(podList, pods));
  const addressed = assignAddresses(podList, { podCidrs, nodeCidrs });
  errors.push(...addressed.errors);
  const policyList = [...policies.values()].map((entry) => entry.value).sort(byNamespaceAndName);
  return {
    namespaces: withImplicitNamespaces([...namespaces.values()].map((entry) => entry.value), [...addressed.pods, ...policyList]),
    pods: addressed.pods,
    policies: policyList,
    errors,
    warnings,
  };
}

function readRanges(texts: readonly string[], option: string, errors: ValidationError[]): Cidr[] {
  return texts.flatMap((text, i) => {
    const { cidr, error } = readCidr(text);
    if (cidr) return [cidr];
    errors.push({ object: 'options', field: indexPath(option, i), message: invalidValue(text, error) });
    return [];
  });
}

/** A Pod and a workload of the same name in one namespace: two pods the cluster would name differently. */
function podNameClashes(podList: readonly Pod[], entries: ReadonlyMap<string, Entry<Pod>>): LoadWarning[] {
  const byKey = new Map<string, Pod>();
  const clashes: LoadWarning[] = [];
  for (const pod of [...podList].sort(byNamespaceAndName)) {
    const key = podKey(pod);
    const other = byKey.get(key);
    if (other) {
      clashes.push({
        object: describePod(pod),
        field: 'metadata.name',
        message: `the same name as ${describePod(other)}: both are pod ${key} here`,
        source: entries.get(describePod(pod))?.source,
      });
    }
    byKey.set(key, pod);
  }
  return clashes;
}

function withImplicitNamespaces(given: readonly Namespace[], residents: readonly { namespace: string }[]): Namespace[] {
  const byName = new Map(given.map((namespace) => [namespace.name, namespace]));
  for (const { namespace } of residents) {
    if (!byName.has(namespace)) byName.set(namespace, implicitNamespace(namespace));
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function describeRaw(object: ManifestObject, defaultNamespace: string): string {
  const metadata = object.body['metadata'];
  const field = (name: string) =>
    typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>)[name] : undefined;
  const namespace = field('namespace');
  const name = field('name');
  return `${object.kind} ${typeof namespace === 'string' ? namespace : defaultNamespace}/${typeof name === 'string' ? name : '?'}`;
}
