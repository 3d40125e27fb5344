// `kubectl apply` against the fake API server: manifests in; each object created, or replaced when one of the
// same kind, namespace and name exists. Like kubectl, it keeps what was applied in the
// kubectl.kubernetes.io/last-applied-configuration annotation and leaves an object alone when that did not
// change ("unchanged"). The store is the server itself (in the test's process) or its HTTP API (another process).
import { parseAllDocuments } from 'yaml';
import type { FakeApiServer } from './fake-apiserver.js';
import { type ApiObject, objectKey, RESOURCE_NAMES, RESOURCES, type ResourceName } from './resources.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface ObjectStore {
  get(resource: ResourceName, namespace: string | undefined, name: string): Promise<ApiObject | undefined>;
  create(resource: ResourceName, object: ApiObject): Promise<ApiObject>;
  update(resource: ResourceName, object: ApiObject): Promise<ApiObject>;
  delete(resource: ResourceName, namespace: string | undefined, name: string): Promise<void>;
}

export interface ManifestObject {
  readonly resource: ResourceName;
  readonly object: ApiObject;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface Applied {
  readonly resource: ResourceName;
  /** `namespace/name`, or `/name` for a namespace. */
  readonly key: string;
  readonly action: ApplyAction;
  /** The object's resourceVersion after the apply. */
  readonly resourceVersion: string;
}

/** The objects of manifest text (YAML or JSON, several documents, `kind: List` unrolled), in the order written. */
export function readManifestObjects(text: string, source: string, defaultNamespace = 'default'): ManifestObject[] {
  const objects: ManifestObject[] = [];
  const add = (value: unknown, where: string) => {
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: not an object`);
    const document = value as Record<string, unknown>;
    if (document['kind'] === 'List') {
      const items = document['items'];
      if (!Array.isArray(items)) throw new Error(`${where}: a List without items`);
      items.forEach((item, i) => add(item, `${where} items[${i}]`));
      return;
    }
    const resource = RESOURCE_NAMES.find((name) => RESOURCES[name].kind === document['kind']);
    if (resource === undefined) {
      throw new Error(`${where}: kind ${JSON.stringify(document['kind'])} is none of ${RESOURCE_NAMES.map((n) => RESOURCES[n].kind).join(', ')}`);
    }
    const metadata = document['metadata'] as Record<string, unknown> | undefined;
    if (typeof metadata?.['name'] !== 'string' || metadata['name'] === '') throw new Error(`${where}: ${RESOURCES[resource].kind} without metadata.name`);
    const object = structuredClone(document) as ApiObject;
    if (RESOURCES[resource].namespaced) object.metadata.namespace ??= defaultNamespace;
    else delete object.metadata.namespace;
    objects.push({ resource, object });
  };
  parseAllDocuments(text).forEach((document, i) => {
    if (document.errors.length > 0) throw new Error(`${source} document ${i + 1}: ${document.errors[0]!.message}`);
    add(document.toJSON(), `${source} document ${i + 1}`);
  });
  return objects;
}

/** Applies each object in order, as `kubectl apply -f` does. */
export async function applyObjects(store: ObjectStore, objects: readonly ManifestObject[]): Promise<Applied[]> {
  const results: Applied[] = [];
  for (const { resource, object } of objects) {
    const configuration = JSON.stringify(withoutLastApplied(object));
    const annotated = structuredClone(object);
    annotated.metadata.annotations = { ...((object.metadata['annotations'] as Record<string, string> | undefined) ?? {}), [LAST_APPLIED]: configuration };
    const existing = await store.get(resource, object.metadata.namespace, object.metadata.name);
    const key = objectKey(object);
    if (existing === undefined) {
      const created = await store.create(resource, annotated);
      results.push({ resource, key, action: 'created', resourceVersion: created.metadata.resourceVersion ?? '' });
    } else if ((existing.metadata['annotations'] as Record<string, string> | undefined)?.[LAST_APPLIED] === configuration) {
      results.push({ resource, key, action: 'unchanged', resourceVersion: existing.metadata.resourceVersion ?? '' });
    } else {
      const updated = await store.update(resource, annotated);
      results.push({ resource, key, action: 'configured', resourceVersion: updated.metadata.resourceVersion ?? '' });
    }
  }
  return results;
}

/** `kubectl delete -f`: each object that exists is deleted; returns the keys deleted. */
export async function deleteObjects(store: ObjectStore, objects: readonly ManifestObject[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const { resource, object } of objects) {
    if ((await store.get(resource, object.metadata.namespace, object.metadata.name)) === undefined) continue;
    await store.delete(resource, object.metadata.namespace, object.metadata.name);
    deleted.push(objectKey(object));
  }
  return deleted;
}

/** The server in this process as a store. */
export function localStore(server: FakeApiServer): ObjectStore {
  return {
    get: async (resource, namespace, name) => server.get(resource, namespace, name),
    create: async (resource, object) => server.create(resource, object),
    update: async (resource, object) => server.update(resource, object),
    delete: async (resource, namespace, name) => server.delete(resource, namespace, name),
  };
}

/** `resourceVersion` of an apply: the highest among the objects it wrote (or left unchanged). */
export function appliedResourceVersion(applied: readonly Applied[]): number {
  return Math.max(0, ...applied.map((a) => Number(a.resourceVersion)));
}

function withoutLastApplied(object: ApiObject): ApiObject {
  const copy = structuredClone(object);
  const annotations = { ...((copy.metadata['annotations'] as Record<string, string> | undefined) ?? {}) };
  delete annotations[LAST_APPLIED];
  if (Object.keys(annotations).length > 0) copy.metadata.annotations = annotations;
  else delete copy.metadata.annotations;
  return copy;
}
