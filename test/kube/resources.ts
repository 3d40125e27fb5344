// The three resources the fake API server serves, with what the real one does to objects on write
// (defaulting, the namespace name label) and the field selectors it supports for each.

export type ResourceName = 'pods' | 'namespaces' | 'networkpolicies';
export const RESOURCE_NAMES: readonly ResourceName[] = ['namespaces', 'pods', 'networkpolicies'];

/** A stored API object: JSON, with metadata the server maintains. */
export type ApiObject = Record<string, unknown> & { metadata: ObjectMetadata };

export interface ObjectMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  generation?: number;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

export interface Resource {
  readonly name: ResourceName;
  readonly kind: string;
  readonly listKind: string;
  readonly apiVersion: string;
  /** `/api/v1` or `/apis/networking.k8s.io/v1`. */
  readonly groupVersionPath: string;
  readonly namespaced: boolean;
  /** Field selector fields, beyond which the API answers "field label not supported". */
  readonly fields: Readonly<Record<string, (object: ApiObject) => string>>;
  /** What the API server fills in on create and update. */
  readonly defaults: (object: ApiObject) => void;
}

const METADATA_NAME_LABEL = 'kubernetes.io/metadata.name';

const metadataFields = (namespaced: boolean): Record<string, (object: ApiObject) => string> => ({
  'metadata.name': (o) => o.metadata.name,
  ...(namespaced ? { 'metadata.namespace': (o: ApiObject) => o.metadata.namespace ?? '' } : {}),
});

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** SetDefaults_ContainerPort and friends: an empty protocol is TCP. */
function defaultProtocols(ports: unknown): void {
  for (const port of list(ports)) {
    const entry = record(port);
    if (entry && (entry['protocol'] === undefined || entry['protocol'] === '')) entry['protocol'] = 'TCP';
  }
}

export const RESOURCES: Readonly<Record<ResourceName, Resource>> = {
  namespaces: {
    name: 'namespaces',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    apiVersion: 'v1',
    groupVersionPath: '/api/v1',
    namespaced: false,
    fields: { ...metadataFields(false), 'status.phase': (o) => text(record(o['status'])?.['phase']) },
    defaults: (o) => {
      // The NamespaceDefaultLabelName admission: set over whatever the user wrote.
      o.metadata.labels = { ...(o.metadata.labels ?? {}), [METADATA_NAME_LABEL]: o.metadata.name };
      o['spec'] = record(o['spec']) ?? { finalizers: ['kubernetes'] };
      o['status'] = record(o['status']) ?? { phase: 'Active' };
    },
  },
  pods: {
    name: 'pods',
    kind: 'Pod',
    listKind: 'PodList',
    apiVersion: 'v1',
    groupVersionPath: '/api/v1',
    namespaced: true,
    fields: {
      ...metadataFields(true),
      'spec.nodeName': (o) => text(record(o['spec'])?.['nodeName']),
      'spec.hostNetwork': (o) => String(record(o['spec'])?.['hostNetwork'] === true),
      'status.phase': (o) => text(record(o['status'])?.['phase']),
      'status.podIP': (o) => text(record(o['status'])?.['podIP']),
    },
    defaults: (o) => {
      const spec = record(o['spec']);
      for (const container of list(spec?.['containers'])) defaultProtocols(record(container)?.['ports']);
      const status = record(o['status']) ?? {};
      if (status['phase'] === undefined) status['phase'] = 'Pending';
      // The API keeps podIP and podIPs[0] the same; clients written for either see one address.
      const podIPs = list(status['podIPs']);
      if (podIPs.length > 0) status['podIP'] = text(record(podIPs[0])?.['ip']);
      else if (typeof status['podIP'] === 'string' && status['podIP'] !== '') status['podIPs'] = [{ ip: status['podIP'] }];
      o['status'] = status;
    },
  },
  networkpolicies: {
    name: 'networkpolicies',
    kind: 'NetworkPolicy',
    listKind: 'NetworkPolicyList',
    apiVersion: 'networking.k8s.io/v1',
    groupVersionPath: '/apis/networking.k8s.io/v1',
    namespaced: true,
    fields: metadataFields(true),
    defaults: (o) => {
      const spec = record(o['spec']);
      if (!spec) return;
      // SetDefaults_NetworkPolicy: Ingress always, Egress when there are egress rules.
      if (list(spec['policyTypes']).length === 0) {
        spec['policyTypes'] = list(spec['egress']).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
      }
      for (const rule of [...list(spec['ingress']), ...list(spec['egress'])]) defaultProtocols(record(rule)?.['ports']);
    },
  },
};

export function objectKey(object: ApiObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}
