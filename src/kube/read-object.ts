// API objects -> the validated model, through the model's own readers: an object from the API is read exactly
// as the same object in a manifest would be, so an invalid NetworkPolicy fails closed the same way.
import {
  DEFAULT_NAMESPACE,
  type ManifestObject,
  type Namespace,
  type NetworkPolicy,
  type Pod,
  readNamespace,
  readNetworkPolicy,
  readPod,
  type ValidationError,
} from '../model/index.js';
import { isMapping } from './json.js';
import { API_RESOURCES, type ApiResource, type ResourceName } from './resources.js';

/** What one API object contributes to the cluster view. */
export type Reading<T> =
  /** In the view. `errors` is non-empty for a policy that failed validation and so fails closed. */
  | { readonly state: 'present'; readonly key: string; readonly object: string; readonly value: T; readonly errors: readonly ValidationError[] }
  /** Not in the view: unreadable (errors say why), or a pod in a terminal phase, which holds no address. */
  | { readonly state: 'absent'; readonly key: string; readonly object: string; readonly reason: 'invalid' | 'terminal'; readonly errors: readonly ValidationError[] };

export interface ResourceValues {
  readonly namespaces: Namespace;
  readonly pods: Pod;
  readonly networkpolicies: NetworkPolicy;
}

export type ObjectReader<R extends ResourceName> = (raw: unknown) => Reading<ResourceValues[R]>;

/** Succeeded and Failed pods keep their object but not their IP, which the network may give to a new pod. */
const TERMINAL_PHASES: ReadonlySet<unknown> = new Set(['Succeeded', 'Failed']);

export const OBJECT_READERS: { readonly [R in ResourceName]: ObjectReader<R> } = {
  namespaces: (raw) => {
    const { object, key, label } = manifestObject(API_RESOURCES.namespaces, raw);
    const reading = readNamespace(object, undefined);
    return reading.namespace
      ? { state: 'present', key, object: label, value: reading.namespace, errors: reading.errors }
      : { state: 'absent', key, object: label, reason: 'invalid', errors: reading.errors };
  },
  pods: (raw) => {
    const { object, key, label } = manifestObject(API_RESOURCES.pods, raw);
    const reading = readPod(object, { defaultNamespace: DEFAULT_NAMESPACE });
    if (!reading.pod) return { state: 'absent', key, object: label, reason: 'invalid', errors: reading.errors };
    if (TERMINAL_PHASES.has(field(object.body['status'], 'phase'))) {
      return { state: 'absent', key, object: label, reason: 'terminal', errors: [] };
    }
    return { state: 'present', key, object: label, value: reading.pod, errors: reading.errors };
  },
  networkpolicies: (raw) => {
    const { object, key, label } = manifestObject(API_RESOURCES.networkpolicies, raw);
    const reading = readNetworkPolicy(object, { defaultNamespace: DEFAULT_NAMESPACE, fallbackName: key });
    return reading.policy
      ? { state: 'present', key, object: label, value: reading.policy, errors: reading.errors }
      : { state: 'absent', key, object: label, reason: 'invalid', errors: reading.errors };
  },
};

/** The key of an object in its collection (`namespace/name`, or `name` when cluster-scoped), and the object itself. */
function manifestObject(resource: ApiResource, raw: unknown): { object: ManifestObject; key: string; label: string } {
  const body = isMapping(raw) ? raw : {};
  const name = stringField(body['metadata'], 'name');
  const namespace = stringField(body['metadata'], 'namespace');
  const key = resource.name === 'namespaces' ? name : `${namespace}/${name}`;
  return {
    // Watch events carry kind and apiVersion, list items do not: the resource they came from says what they are.
    object: { source: resource.objectPath(namespace, name), kind: resource.kind, apiVersion: resource.apiVersion, body },
    key,
    label: `${resource.kind} ${key}`,
  };
}

function field(value: unknown, name: string): unknown {
  return isMapping(value) ? value[name] : undefined;
}

function stringField(value: unknown, name: string): string {
  const found = field(value, name);
  return typeof found === 'string' ? found : '';
}
