// The three API resources Bulkhead watches, and where each lives in the API.

export type ResourceName = 'namespaces' | 'pods' | 'networkpolicies';
export const RESOURCE_NAMES: readonly ResourceName[] = ['namespaces', 'pods', 'networkpolicies'];

export interface ApiResource {
  readonly name: ResourceName;
  readonly kind: 'Namespace' | 'Pod' | 'NetworkPolicy';
  readonly apiVersion: string;
  /** The cluster-wide collection, for list and watch. */
  readonly collectionPath: string;
  /** One object's path: what `kubectl get --raw` takes, and the `source` of what is read from it. */
  objectPath(namespace: string, name: string): string;
}

export const API_RESOURCES: Readonly<Record<ResourceName, ApiResource>> = {
  namespaces: {
    name: 'namespaces',
    kind: 'Namespace',
    apiVersion: 'v1',
    collectionPath: '/api/v1/namespaces',
    objectPath: (_namespace, name) => `/api/v1/namespaces/${name}`,
  },
  pods: {
    name: 'pods',
    kind: 'Pod',
    apiVersion: 'v1',
    collectionPath: '/api/v1/pods',
    objectPath: (namespace, name) => `/api/v1/namespaces/${namespace}/pods/${name}`,
  },
  networkpolicies: {
    name: 'networkpolicies',
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    collectionPath: '/apis/networking.k8s.io/v1/networkpolicies',
    objectPath: (namespace, name) => `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/${name}`,
  },
};
