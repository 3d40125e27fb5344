// The public face of kube/: the Kubernetes API in, a validated and evented cluster state out.
export { type ClusterEvent, type ClusterListener, ClusterState } from './cluster-state.js';
export type { ClusterConnection } from './connection.js';
export { DEFAULT_WATCH_TIMING, type ListWatchStatus, RESTART_REASONS, type RestartReason, type WatchTiming } from './list-watch.js';
export { OBJECT_READERS, type Reading, type ResourceValues } from './read-object.js';
export { RESOURCE_NAMES, type ResourceName } from './resources.js';
export { type ClusterWatch, type ClusterWatchOptions, watchCluster } from './watch-cluster.js';
