// Where a command reads its objects: manifest files (-f) or a live cluster (--cluster).
import type { ValidationError } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { UsageError } from './args.js';
import { type KubeconfigFlags, readClusterObjects } from './cluster.js';
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
  /** Where the objects came from, for messages: `the given manifests`, `the cluster`. */
  readonly origin: string;
}

export async function loadObjects(flags: SourceFlags): Promise<LoadedObjects> {
  if (flags.cluster === true) {
    // Addresses are made up only for pods of manifests, which give none; a cluster's pods have theirs or none yet.
    if (flags.podCidr.length > 0) throw new UsageError('--pod-cidr gives addresses to pods of manifests: with --cluster, pods have their own');
    return { ...(await readClusterObjects(flags)), origin: 'the cluster' };
  }
  if (flags.kubeconfig !== undefined || flags.context !== undefined) {
    throw new UsageError('--kubeconfig and --context say how to reach the cluster: add --cluster to read it');
  }
  const loaded = await loadSnapshot({ file: flags.filename, namespace: flags.namespace, podCidr: flags.podCidr });
  return { ...loaded, origin: 'the given manifests' };
}
