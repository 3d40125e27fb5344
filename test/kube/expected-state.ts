// What the watch layer must converge to: the fake server's objects read by the manifest loader, the one
// reading of Kubernetes objects the rest of Bulkhead trusts. Pods in a terminal phase are left out (they hold
// no address), and no addresses are made up for pods that have none yet.
import { type ManifestText, parseManifests, type ValidationError } from '../../src/model/index.js';
import type { SnapshotInput } from '../../src/snapshot/snapshot.js';
import type { FakeApiServer } from './fake-apiserver.js';
import { type ApiObject, RESOURCE_NAMES, RESOURCES, type ResourceName } from './resources.js';

export interface ExpectedState {
  readonly input: SnapshotInput;
  readonly problems: readonly ValidationError[];
}

export function expectedState(server: FakeApiServer): ExpectedState {
  const manifests: ManifestText[] = [];
  for (const resource of RESOURCE_NAMES) {
    const { kind, apiVersion } = RESOURCES[resource];
    for (const object of server.objects(resource)) {
      if (resource === 'pods' && isTerminal(object)) continue;
      manifests.push({ source: apiPath(resource, object), text: JSON.stringify({ kind, apiVersion, ...object }) });
    }
  }
  const loaded = parseManifests(manifests, { defaultNamespace: 'default', podCidrs: [], nodeCidrs: [] });
  const problems = [...loaded.errors].sort(
    (a, b) => compare(a.object, b.object) || compare(a.field, b.field) || compare(a.message, b.message),
  );
  return {
    input: { namespaces: loaded.namespaces.filter((n) => !n.implicit), pods: loaded.pods, policies: loaded.policies },
    problems,
  };
}

/** The object's own path in the API, which is where the watch layer says an object came from. */
export function apiPath(resource: ResourceName, object: ApiObject): string {
  const { groupVersionPath, namespaced } = RESOURCES[resource];
  const { namespace, name } = object.metadata;
  return namespaced ? `${groupVersionPath}/namespaces/${namespace}/${resource}/${name}` : `${groupVersionPath}/${resource}/${name}`;
}

function isTerminal(pod: ApiObject): boolean {
  const phase = (pod['status'] as { phase?: unknown } | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
