// Where a command reads its objects: manifest files (-f), or else the live cluster (--cluster, or no -f at all,
// as kubectl reads the cluster unless given files).
import type { ValidationError } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { UsageError } from './args.js';
import { ClusterAccessError, type KubeconfigFlags, readClusterObjects } from './cluster.js';
import { loadSnapshot } from './manifests.js';

export interface SourceFlags extends KubeconfigFlags {
  readonly filename: string[];
  readonly namespace: string;
  readonly podCidr: string[];
  readonly cluster?: boolean;
}

export interface LoadedObjects {
  readonly snapshot: Snapshot;
  readonly errors: readonly ValidationError[];
  /** With the cluster, the kubeconfig context's namespace when it names one. */
  readonly contextNamespace?: string;
  /** Where the objects came from, for messages: `the given manifests`, `the cluster`. */
  readonly origin: string;
}

/** Whether the objects come from the live cluster: asked with --cluster, or no manifests given. */
export function readsCluster(flags: Pick<SourceFlags, 'cluster' | 'filename'>): boolean {
  return flags.cluster === true || flags.filename.length === 0;
}

export async function loadObjects(flags: SourceFlags): Promise<LoadedObjects> {
  if (readsCluster(flags)) {
    // Addresses are made up only for pods of manifests, which give none; a cluster's pods have theirs or none yet.
    if (flags.podCidr.length > 0) throw new UsageError('--pod-cidr gives addresses to pods of manifests (-f): the pods of a cluster have their own');
    try {
      return { ...(await readClusterObjects(flags)), origin: 'the cluster' };
    } catch (error) {
      // Without -f or --cluster, the user may have meant manifests and forgotten -f.
      if (error instanceof ClusterAccessError && flags.cluster !== true) throw new ClusterAccessError(`${error.message} (to read manifests instead, give -f PATH)`);
      throw error;
    }
  }
  if (flags.kubeconfig !== undefined || flags.context !== undefined) {
    throw new UsageError('--kubeconfig and --context say how to reach the cluster: they do not go with -f');
  }
  const loaded = await loadSnapshot({ file: flags.filename, namespace: flags.namespace, podCidr: flags.podCidr });
  return { ...loaded, origin: 'the given manifests' };
}
