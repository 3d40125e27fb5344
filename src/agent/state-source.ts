// Where the agent's loop reads the cluster from: manifest files or the Kubernetes API, behind one interface so
// the loop does not care which.
import type { ListWatchStatus, ResourceName } from '../kube/index.js';
import type { SnapshotInput } from '../snapshot/snapshot.js';

/** Which cluster state the kernel's rules enforce, as logged with every sync ('rules applied', 'rules already in force'). */
export type StateVersion =
  /** manifestsDigest of the manifest texts in force. */
  | { readonly manifestsDigest: string }
  /** Every change the API server made up to this resourceVersion (bookmarks included) is in the state. */
  | { readonly resourceVersion: string };

export interface SourceState {
  readonly input: SnapshotInput;
  /** Equal keys mean equal inputs: a sync whose key (and CNI bindings) did not change has nothing to compile. */
  readonly key: string;
  readonly version: StateVersion;
}

export type SourceRead =
  | { readonly kind: 'state'; readonly state: SourceState }
  /** No state to enforce yet (the initial list is not in): the rules an earlier run left stay. */
  | { readonly kind: 'waiting'; readonly reason: string }
  /** The state cannot be read now; retried after a backoff, with the last good rules kept. */
  | { readonly kind: 'failed'; readonly object: string; readonly error: unknown; readonly message: string };

export interface StateSource {
  readonly kind: 'manifests' | 'cluster';
  read(): Promise<SourceRead>;
  /** The watches of the API source, per resource; undefined for manifests. */
  watchStatus(): Readonly<Record<ResourceName, ListWatchStatus>> | undefined;
  close(): Promise<void>;
}
