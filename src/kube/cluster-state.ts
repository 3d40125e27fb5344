// The cluster as the watch layer knows it: the validated namespaces, pods and policies, kept only in their
// model form (a few hundred bytes a pod), with a change event for every difference that matters to policy and
// none for the many status updates that do not. `snapshotInput()` is what buildSnapshot takes.
import { isDeepStrictEqual } from 'node:util';
import { type Logger, pino } from 'pino';
import { byNamespaceAndName, compareText, type Namespace, type NetworkPolicy, type Pod, type ValidationError } from '../model/index.js';
import type { SnapshotInput } from '../snapshot/snapshot.js';
import type { ListWatchSink } from './list-watch.js';
import { OBJECT_READERS, type ObjectReader, type Reading, type ResourceValues } from './read-object.js';
import { API_RESOURCES, RESOURCE_NAMES, type ResourceName } from './resources.js';
import { SharedValues } from './shared-values.js';

export type ClusterEvent =
  | { readonly type: 'namespace-upsert'; readonly namespace: Namespace; readonly previous?: Namespace }
  | { readonly type: 'namespace-delete'; readonly namespace: Namespace }
  | { readonly type: 'pod-upsert'; readonly pod: Pod; readonly previous?: Pod }
  | { readonly type: 'pod-delete'; readonly pod: Pod }
  | { readonly type: 'policy-upsert'; readonly policy: NetworkPolicy; readonly previous?: NetworkPolicy }
  | { readonly type: 'policy-delete'; readonly policy: NetworkPolicy }
  /** An object failed validation, or failed it differently: a policy then fails closed, a pod or namespace is left out. */
  | { readonly type: 'object-invalid'; readonly resource: ResourceName; readonly object: string; readonly errors: readonly ValidationError[] }
  /** The first list of every resource is in: the state is the cluster's, not a part of it. Sent once. */
  | { readonly type: 'synced' };

export type ClusterListener = (event: ClusterEvent) => void;

type Value = ResourceValues[ResourceName];

interface Table<T> {
  readonly values: Map<string, T>;
  /** Errors of objects that have some, by key. */
  readonly problems: Map<string, readonly ValidationError[]>;
  listed: boolean;
  /** snapshotInput's list, until the next change. */
  ordered: readonly T[] | undefined;
}

const CHANGE_EVENTS: { readonly [R in ResourceName]: { upsert(value: ResourceValues[R], previous?: ResourceValues[R]): ClusterEvent; remove(value: ResourceValues[R]): ClusterEvent } } = {
  namespaces: {
    upsert: (namespace, previous) => ({ type: 'namespace-upsert', namespace, ...(previous ? { previous } : {}) }),
    remove: (namespace) => ({ type: 'namespace-delete', namespace }),
  },
  pods: {
    upsert: (pod, previous) => ({ type: 'pod-upsert', pod, ...(previous ? { previous } : {}) }),
    remove: (pod) => ({ type: 'pod-delete', pod }),
  },
  networkpolicies: {
    upsert: (policy, previous) => ({ type: 'policy-upsert', policy, ...(previous ? { previous } : {}) }),
    remove: (policy) => ({ type: 'policy-delete', policy }),
  },
};

export class ClusterState {
  readonly #logger: Logger;
  readonly #tables: { readonly [R in ResourceName]: Table<ResourceValues[R]> } = {
    namespaces: newTable(),
    pods: newTable(),
    networkpolicies: newTable(),
  };
  readonly #listeners = new Set<ClusterListener>();
  readonly #shared = new SharedValues();
  readonly #readers: { readonly [R in ResourceName]: ObjectReader<R> } = {
    namespaces: OBJECT_READERS.namespaces,
    pods: (raw) => {
      const reading = OBJECT_READERS.pods(raw);
      return reading.state === 'present' ? { ...reading, value: this.#shared.pod(reading.value) } : reading;
    },
    networkpolicies: OBJECT_READERS.networkpolicies,
  };
  #synced = false;

  constructor(logger: Logger = pino({ level: 'silent' })) {
    this.#logger = logger;
  }

  /**
   * Calls `listener` with every change from now on; the returned function unsubscribes. A relist delivers its
   * changes one by one within one call: take a snapshot after it (a debounced sync does), not inside a listener.
   */
  subscribe(listener: ClusterListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether every resource has been listed once. */
  get synced(): boolean {
    return this.#synced;
  }

  /** The validated objects, each sorted as the manifest loader sorts them. */
  snapshotInput(): SnapshotInput {
    return {
      namespaces: this.#ordered('namespaces', (a, b) => compareText(a.name, b.name)),
      pods: this.#ordered('pods', byNamespaceAndName),
      policies: this.#ordered('networkpolicies', byNamespaceAndName),
    };
  }

  /** The errors of every object that has some: invalid policies (failing closed), pods and namespaces left out. */
  problems(): readonly ValidationError[] {
    return RESOURCE_NAMES.flatMap((resource) => [...this.#tables[resource].problems.values()].flat()).sort(
      (a, b) => compareText(a.object, b.object) || compareText(a.field, b.field) || compareText(a.message, b.message),
    );
  }

  /**
   * Reads an API object of `resource`, sharing what pods have in common with the pods already read, so that a
   * list of 100,000 pods waiting to be applied is as small as the state it becomes.
   */
  reader<R extends ResourceName>(resource: R): ObjectReader<R> {
    return this.#readers[resource];
  }

  /** Where a ListWatch of `resource` delivers. */
  sink<R extends ResourceName>(resource: R): ListWatchSink<Reading<ResourceValues[R]>> {
    return {
      replace: (readings) => this.replace(resource, readings),
      upsert: (reading) => this.apply(resource, reading),
      remove: (reading) => {
        this.#table(resource).problems.delete(reading.key);
        this.#remove(resource, reading.key, reading.object);
      },
    };
  }

  /** A full list of `resource`: what it lacks is deleted. Deletions are sent before upserts, so an address leaves its old pod before it reaches a new one. */
  replace<R extends ResourceName>(resource: R, readings: readonly Reading<ResourceValues[R]>[]): void {
    const table = this.#table(resource);
    const present = new Set(readings.filter((r) => r.state === 'present').map((r) => r.key));
    for (const key of [...table.values.keys()]) {
      if (!present.has(key)) this.#remove(resource, key, `${API_RESOURCES[resource].kind} ${key}`);
    }
    const listed = new Set(readings.map((r) => r.key));
    for (const key of [...table.problems.keys()]) {
      if (!listed.has(key)) table.problems.delete(key);
    }
    for (const reading of readings) this.apply(resource, reading);
    table.listed = true;
    if (!this.#synced && RESOURCE_NAMES.every((r) => this.#tables[r].listed)) {
      this.#synced = true;
      this.#logger.info({ namespaces: this.#tables.namespaces.values.size, pods: this.#tables.pods.values.size, policies: this.#tables.networkpolicies.values.size }, 'cluster state synced');
      this.#emit({ type: 'synced' });
    }
  }

  /** An object as it is now (added, modified, or listed). */
  apply<R extends ResourceName>(resource: R, reading: Reading<ResourceValues[R]>): void {
    this.#recordProblems(resource, reading);
    if (reading.state === 'absent') {
      this.#remove(resource, reading.key, `${reading.object} (${reading.reason})`);
      return;
    }
    const table = this.#table(resource);
    const previous = table.values.get(reading.key);
    if (previous !== undefined && isDeepStrictEqual(previous, reading.value)) return;
    table.values.set(reading.key, reading.value);
    table.ordered = undefined;
    this.#logger.debug({ object: reading.object }, `${reading.object} ${previous === undefined ? 'added' : 'changed'}`);
    this.#emit(CHANGE_EVENTS[resource].upsert(reading.value, previous));
  }

  #remove<R extends ResourceName>(resource: R, key: string, object: string): void {
    const table = this.#table(resource);
    const previous = table.values.get(key);
    if (previous === undefined) return;
    table.values.delete(key);
    table.ordered = undefined;
    this.#logger.debug({ object }, `${object} removed`);
    this.#emit(CHANGE_EVENTS[resource].remove(previous));
  }

  #recordProblems<R extends ResourceName>(resource: R, reading: Reading<ResourceValues[R]>): void {
    const table = this.#table(resource);
    const before = table.problems.get(reading.key);
    if (reading.errors.length === 0) {
      if (before) this.#logger.info({ object: reading.object }, `${reading.object} is valid again`);
      table.problems.delete(reading.key);
      return;
    }
    if (before && isDeepStrictEqual(before, reading.errors)) return;
    table.problems.set(reading.key, reading.errors);
    const consequence = resource === 'networkpolicies' ? 'it fails closed: it isolates the pods it selects and allows nothing' : 'it is left out';
    this.#logger.warn({ object: reading.object, errors: reading.errors.map((e) => `${e.field}: ${e.message}`) }, `${reading.object} is invalid; ${consequence}`);
    this.#emit({ type: 'object-invalid', resource, object: reading.object, errors: reading.errors });
  }

  #ordered<R extends ResourceName>(resource: R, order: (a: ResourceValues[R], b: ResourceValues[R]) => number): readonly ResourceValues[R][] {
    const table = this.#table(resource);
    table.ordered ??= [...table.values.values()].sort(order);
    return table.ordered;
  }

  #table<R extends ResourceName>(resource: R): Table<ResourceValues[R]> {
    return this.#tables[resource] as Table<ResourceValues[R]>;
  }

  #emit(event: ClusterEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // One failing listener must neither stop the others nor the watch that delivered the change.
        this.#logger.error({ err: error instanceof Error ? error.message : String(error), event: event.type }, 'cluster event listener failed');
      }
    }
  }
}

function newTable<T extends Value>(): Table<T> {
  return { values: new Map(), problems: new Map(), listed: false, ordered: undefined };
}
