// The fake API server's storage: one global, monotonically increasing resourceVersion (etcd's revision), the
// objects as they are now, and the changes of a retained window, from which watches replay and exact lists
// are answered. What falls out of the window (compaction) answers 410 Gone.
import { randomUUID } from 'node:crypto';
import { type ApiObject, objectKey, RESOURCE_NAMES, RESOURCES, type ResourceName } from './resources.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly resourceVersion: number;
  readonly resource: ResourceName;
  readonly type: ChangeType;
  /** The object after the change; for DELETED, its last state stamped with the deletion's resourceVersion. */
  readonly object: ApiObject;
  /** The object before the change; absent for ADDED. */
  readonly previous?: ApiObject;
}

export class History {
  #resourceVersion: number;
  /** A watch or exact list from a resourceVersion older than this one is answered 410 Gone. */
  #oldestAvailable: number;
  readonly #objects = new Map<ResourceName, Map<string, ApiObject>>(RESOURCE_NAMES.map((r) => [r, new Map()]));
  #changes: Change[] = [];
  readonly #retainedChanges: number;

  constructor(initialResourceVersion: number, retainedChanges: number) {
    this.#resourceVersion = initialResourceVersion;
    this.#oldestAvailable = initialResourceVersion;
    this.#retainedChanges = retainedChanges;
  }

  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  get oldestAvailable(): number {
    return this.#oldestAvailable;
  }

  current(resource: ResourceName): ReadonlyMap<string, ApiObject> {
    return this.#objects.get(resource)!;
  }

  get(resource: ResourceName, key: string): ApiObject | undefined {
    return this.#objects.get(resource)!.get(key);
  }

  create(resource: ResourceName, given: ApiObject): Change {
    const object = structuredClone(given);
    const key = objectKey(object);
    if (this.get(resource, key)) throw new Error(`${resource} "${key}" already exists`);
    RESOURCES[resource].defaults(object);
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (resource === 'networkpolicies') object.metadata.generation = 1;
    return this.#record(resource, 'ADDED', object, undefined);
  }

  /** A replace (PUT): uid and creationTimestamp are the stored object's, whatever the given one says. */
  update(resource: ResourceName, given: ApiObject): Change {
    const object = structuredClone(given);
    const key = objectKey(object);
    const previous = this.get(resource, key);
    if (!previous) throw new Error(`${resource} "${key}" not found`);
    RESOURCES[resource].defaults(object);
    object.metadata.uid = previous.metadata.uid;
    object.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    if (resource === 'networkpolicies') {
      const specChanged = JSON.stringify(previous['spec']) !== JSON.stringify(object['spec']);
      object.metadata.generation = (previous.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    }
    return this.#record(resource, 'MODIFIED', object, previous);
  }

  delete(resource: ResourceName, key: string): Change {
    const previous = this.get(resource, key);
    if (!previous) throw new Error(`${resource} "${key}" not found`);
    return this.#record(resource, 'DELETED', structuredClone(previous), previous);
  }

  /** Drops all history: every resourceVersion before now is gone. */
  compact(): void {
    this.#changes = [];
    this.#oldestAvailable = this.#resourceVersion;
  }

  /** Changes after `resourceVersion` (which must be available), oldest first. */
  changesAfter(resourceVersion: number): readonly Change[] {
    const first = this.#changes.findIndex((c) => c.resourceVersion > resourceVersion);
    return first < 0 ? [] : this.#changes.slice(first);
  }

  /** The objects of a resource as they were at `resourceVersion` (which must be available). */
  objectsAt(resource: ResourceName, resourceVersion: number): Map<string, ApiObject> {
    const objects = new Map(this.current(resource));
    const later = this.changesAfter(resourceVersion).filter((c) => c.resource === resource);
    for (const change of later.reverse()) {
      const key = objectKey(change.object);
      if (change.previous) objects.set(key, change.previous);
      else objects.delete(key);
    }
    return objects;
  }

  #record(resource: ResourceName, type: ChangeType, object: ApiObject, previous: ApiObject | undefined): Change {
    this.#resourceVersion++;
    object.metadata.resourceVersion = String(this.#resourceVersion);
    const objects = this.#objects.get(resource)!;
    if (type === 'DELETED') objects.delete(objectKey(object));
    else objects.set(objectKey(object), object);
    const change: Change = { resourceVersion: this.#resourceVersion, resource, type, object, ...(previous ? { previous } : {}) };
    this.#changes.push(change);
    // etcd compacts by age; a bounded count of changes stands for that window here.
    if (this.#changes.length > this.#retainedChanges) {
      const dropped = this.#changes.splice(0, this.#changes.length - this.#retainedChanges);
      this.#oldestAvailable = dropped[dropped.length - 1]!.resourceVersion;
    }
    return change;
  }
}
