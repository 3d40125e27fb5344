// The cluster read once, for commands that answer a question and exit (`bulkhead explain --cluster`): one
// consistent list of each resource, read by the same ClusterState and readers as the watch, so an object from a
// one-shot read is the object the agent would hold.
import type { ValidationError } from '../model/index.js';
import type { SnapshotInput } from '../snapshot/snapshot.js';
import { ClusterState } from './cluster-state.js';
import type { ApiClient } from './connection.js';
import { listCollection } from './list.js';
import { API_RESOURCES, RESOURCE_NAMES } from './resources.js';

export interface ClusterReading {
  /** The validated objects, as ClusterState.snapshotInput() gives them. */
  readonly input: SnapshotInput;
  /** Invalid objects: policies failing closed, pods and namespaces left out. */
  readonly problems: readonly ValidationError[];
}

/** Objects per list page, as the watch layer's default. */
const PAGE_SIZE = 500;

/** Lists namespaces, pods and NetworkPolicies at once; rejects with the first failed request's error. */
export async function readCluster(client: ApiClient): Promise<ClusterReading> {
  const state = new ClusterState();
  // The first failure ends the other lists: the command reports it and exits.
  const abandon = new AbortController();
  const lists = RESOURCE_NAMES.map(async (resource) => {
    const list = await listCollection(client, API_RESOURCES[resource].collectionPath, { kind: 'latest' }, PAGE_SIZE, state.reader(resource), abandon.signal);
    return () => state.replace(resource, list.items);
  });
  const applies = await Promise.all(lists).catch((error: unknown) => {
    abandon.abort();
    throw error;
  });
  // Applied once every list is in, so a failure leaves nothing half read.
  for (const apply of applies) apply();
  return { input: state.snapshotInput(), problems: state.problems() };
}
