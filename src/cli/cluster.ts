// Reading the live cluster (--cluster, or no -f): its objects read once through a kubeconfig as kubectl finds it,
// in place of manifest files.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../kube/api-errors.js';
import { type ClusterConnection, createApiClient, describeConnection, kubeconfigPaths, loadKubeConfig } from '../kube/connection.js';
import { readCluster } from '../kube/read-cluster.js';
import type { ValidationError } from '../model/types.js';
import { buildSnapshot, type Snapshot } from '../snapshot/snapshot.js';

export interface KubeconfigFlags {
  /** Default: $KUBECONFIG, else ~/.kube/config. */
  readonly kubeconfig?: string;
  /** Default: the kubeconfig's current context. */
  readonly context?: string;
}

/** The cluster could not be reached or read: one line, exit 2, as kubectl's connection errors. */
export class ClusterAccessError extends Error {}

export interface ClusterObjects {
  readonly snapshot: Snapshot;
  /** Invalid objects, reported as the manifest loader reports those of files. */
  readonly errors: readonly ValidationError[];
  /** The namespace of the kubeconfig's context, when it names one: kubectl's namespace for names without one. */
  readonly contextNamespace?: string;
}

/** A list page with no answer for this long fails the command, rather than hang on a silent server. */
const REQUEST_TIMEOUT_MS = 20_000;

function kubeconfigConnection(flags: KubeconfigFlags, env: NodeJS.ProcessEnv = process.env): ClusterConnection {
  const fromEnvironment = kubeconfigPaths(env['KUBECONFIG']);
  const paths = flags.kubeconfig !== undefined ? [flags.kubeconfig] : fromEnvironment.length > 0 ? fromEnvironment : [join(homedir(), '.kube', 'config')];
  return { kind: 'kubeconfig', paths, ...(flags.context !== undefined ? { context: flags.context } : {}) };
}

/** Reads namespaces, pods and NetworkPolicies of the cluster the kubeconfig points at. */
export async function readClusterObjects(flags: KubeconfigFlags): Promise<ClusterObjects> {
  const connection = kubeconfigConnection(flags);
  let config;
  try {
    config = loadKubeConfig(connection);
  } catch (error) {
    throw new ClusterAccessError(`cannot use ${describeConnection(connection)}: ${reasonOf(error)}`);
  }
  const client = createApiClient(config, REQUEST_TIMEOUT_MS);
  try {
    const { input, problems } = await readCluster(client);
    const contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace;
    return { snapshot: buildSnapshot(input), errors: problems, ...(contextNamespace ? { contextNamespace } : {}) };
  } catch (error) {
    throw new ClusterAccessError(`cannot read the cluster at ${client.server} (${describeConnection(connection)}): ${reasonOf(error)}`);
  }
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError && error.code === 401) return `${message} (the server refused this context's credentials)`;
  // A library error may span lines (a YAML parse error quotes the file): the first one says what went wrong.
  return message.split('\n')[0]!;
}
