// The watch layer's entry point: one ListWatch for each of namespaces, pods and NetworkPolicies, all feeding
// one ClusterState.
import { type Logger, pino } from 'pino';
import { ClusterState } from './cluster-state.js';
import { type ClusterConnection, createApiClient, describeConnection, loadKubeConfig } from './connection.js';
import { DEFAULT_WATCH_TIMING, ListWatch, type ListWatchStatus, type WatchTiming } from './list-watch.js';
import { API_RESOURCES, RESOURCE_NAMES, type ResourceName } from './resources.js';

export interface ClusterWatchOptions {
  readonly connection: ClusterConnection;
  /** Default: pino, JSON lines on stdout. */
  readonly logger?: Logger;
  /** Defaults: DEFAULT_WATCH_TIMING. */
  readonly timing?: Partial<WatchTiming>;
  /** In [0, 1), for backoff and timeout jitter; Math.random by default. */
  readonly random?: () => number;
  /** Called after each change of a resource's watch status (resourceVersion, restarts, up), after the state's events. */
  readonly onStatus?: (resource: ResourceName, status: ListWatchStatus) => void;
}

export interface ClusterWatch {
  /** The cluster as watched; subscribe to it for changes. Nothing is delivered before the first list answers. */
  readonly state: ClusterState;
  /** Resolves once every resource has been listed, at once if that already happened; rejects if stopped first. */
  synced(): Promise<void>;
  /** Per resource: last resourceVersion, listed or not, watch restarts by reason, failed lists. */
  status(): Readonly<Record<ResourceName, ListWatchStatus>>;
  /** Stops every watch; the state keeps what it had. */
  stop(): Promise<void>;
}

/** Connects and starts watching at once; throws only when the connection config cannot be loaded. */
export function watchCluster(options: ClusterWatchOptions): ClusterWatch {
  const timing = { ...DEFAULT_WATCH_TIMING, ...options.timing };
  const logger = (options.logger ?? pino()).child({ component: 'kube' });
  const client = createApiClient(loadKubeConfig(options.connection), timing.requestTimeoutMs);
  logger.info({ server: client.server, connection: describeConnection(options.connection) }, 'watching the cluster');
  const state = new ClusterState(logger);
  const { onStatus } = options;

  const watch = <R extends ResourceName>(resource: R) =>
    new ListWatch({
      client,
      path: API_RESOURCES[resource].collectionPath,
      read: state.reader(resource),
      sink: state.sink(resource),
      timing,
      logger: logger.child({ resource }),
      ...(options.random ? { random: options.random } : {}),
      ...(onStatus ? { onStatus: (status: ListWatchStatus) => onStatus(resource, status) } : {}),
    });
  const watches = { namespaces: watch('namespaces'), pods: watch('pods'), networkpolicies: watch('networkpolicies') };
  for (const resource of RESOURCE_NAMES) watches[resource].start();

  let stopped = false;
  const stopListeners = new Set<() => void>();
  return {
    state,
    synced: () =>
      new Promise<void>((resolve, reject) => {
        if (state.synced) return resolve();
        if (stopped) return reject(new Error('the cluster watch was stopped before it synced'));
        const unsubscribe = state.subscribe((event) => {
          if (event.type !== 'synced') return;
          unsubscribe();
          stopListeners.delete(onStop);
          resolve();
        });
        const onStop = () => {
          unsubscribe();
          reject(new Error('the cluster watch was stopped before it synced'));
        };
        stopListeners.add(onStop);
      }),
    status: () => ({ namespaces: watches.namespaces.status(), pods: watches.pods.status(), networkpolicies: watches.networkpolicies.status() }),
    stop: async () => {
      stopped = true;
      await Promise.all(RESOURCE_NAMES.map((resource) => watches[resource].stop()));
      for (const onStop of [...stopListeners]) onStop();
      stopListeners.clear();
      logger.info('stopped watching the cluster');
    },
  };
}
