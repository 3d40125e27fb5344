// The cluster as the Kubernetes API says it: the watch layer's state, with the resourceVersion it reflects. An
// outage keeps the last state (the watch layer retries), so the kernel keeps enforcing what was last known.
import type { Logger } from 'pino';
import { type ClusterConnection, type ListWatchStatus, RESOURCE_NAMES, type ResourceName, type WatchTiming, watchCluster } from '../kube/index.js';
import type { StateSource } from './state-source.js';

export const WAITING_FOR_LIST = 'waiting for the initial list of namespaces, pods and NetworkPolicies';

/**
 * The resourceVersion up to which every change of every resource is in the state: the oldest of the watches'
 * (each watch has seen every change of its resource up to its own). resourceVersions are etcd revisions,
 * decimal numbers: shorter is older, and among equal lengths the text order is the numeric one.
 */
export function stateResourceVersion(versions: readonly string[]): string {
  return versions.reduce((oldest, version) =>
    version.length < oldest.length || (version.length === oldest.length && version < oldest) ? version : oldest,
  );
}

export function apiSource(connection: ClusterConnection, timing: Partial<WatchTiming> | undefined, onChange: () => void, log: Logger): StateSource {
  const latest = new Map<ResourceName, ListWatchStatus>();
  let reachable = true;
  let everReached = false;
  let version = '';
  // Bumped by every change of the state: the sync's cheap "did anything change" (the state is too big to compare).
  let generation = 0;

  const onStatus = (resource: ResourceName, status: ListWatchStatus) => {
    latest.set(resource, status);
    const statuses = RESOURCE_NAMES.map((r) => latest.get(r));
    const up = statuses.every((s) => s === undefined || s.up);
    if (up !== reachable) {
      reachable = up;
      const down = RESOURCE_NAMES.filter((r) => latest.get(r)?.up === false);
      if (up && everReached) log.info({ object: 'API server' }, 'watching the API server again; changes made meanwhile follow');
      else if (up) log.info({ object: 'API server' }, 'reached the API server');
      else if (everReached) log.warn({ object: 'API server', resources: down }, 'lost the API server; the last known state stays in force while the watches retry');
      else log.warn({ object: 'API server', resources: down }, 'cannot reach the API server yet; the rules of an earlier run stay while the watches retry');
    }
    everReached ||= statuses.some((s) => s?.up === true);
    const listed = statuses.filter((s): s is ListWatchStatus => s !== undefined && s.listed);
    if (listed.length === RESOURCE_NAMES.length) {
      const now = stateResourceVersion(listed.map((s) => s.resourceVersion));
      // Bookmarks, and changes that matter to no policy, advance it too: the next sync logs it as in force.
      if (now !== version) {
        version = now;
        onChange();
      }
    }
  };

  const watch = watchCluster({ connection, logger: log, ...(timing ? { timing } : {}), onStatus });
  watch.state.subscribe(() => {
    generation++;
    onChange();
  });

  return {
    kind: 'cluster',
    read: async () => {
      if (!watch.state.synced || version === '') return { kind: 'waiting', reason: WAITING_FOR_LIST };
      return { kind: 'state', state: { input: watch.state.snapshotInput(), key: String(generation), version: { resourceVersion: version } } };
    },
    watchStatus: () => watch.status(),
    close: () => watch.stop(),
  };
}
