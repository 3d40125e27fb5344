// Which objects of a manifest Bulkhead reads, decided by kind and API group.
import { type FieldIssue, REQUIRED_VALUE, unsupportedValue } from './field-issues.js';

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export type ObjectKind = 'Namespace' | 'Pod' | 'NetworkPolicy' | WorkloadKind;

const NETWORK_POLICY_API_VERSION = 'networking.k8s.io/v1';

const WORKLOAD_GROUPS: Readonly<Record<WorkloadKind, string>> = {
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  ReplicaSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
};

export type Classification =
  /** Read it. With an apiVersion issue it is an invalid object of that kind (a NetworkPolicy then fails closed). */
  | { readonly read: true; readonly kind: ObjectKind; readonly apiVersionIssue?: FieldIssue }
  /** Not ours: Services, ConfigMaps, CRDs... legitimately sit in manifest directories. */
  | { readonly read: false; readonly warning?: string };

export function classify(kind: string, apiVersion: unknown): Classification {
  const ours = ourKind(kind);
  if (ours === undefined) return { read: false };
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    return { read: true, kind: ours, apiVersionIssue: { field: 'apiVersion', message: REQUIRED_VALUE } };
  }
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

  switch (ours) {
    case 'NetworkPolicy':
      return classifyNetworkPolicy(group, apiVersion);
    case 'Namespace':
    case 'Pod':
      // Core objects have no group; `v1` is the only version there is.
      if (group !== '') return { read: false };
      return apiVersion === 'v1'
        ? { read: true, kind: ours }
        : { read: true, kind: ours, apiVersionIssue: { field: 'apiVersion', message: unsupportedValue(apiVersion, ['v1']) } };
    default:
      // Every version of a workload carries the same pod template, so any version of the right group will do.
      return group === WORKLOAD_GROUPS[ours] ? { read: true, kind: ours } : { read: false };
  }
}

function classifyNetworkPolicy(group: string, apiVersion: string): Classification {
  if (apiVersion === NETWORK_POLICY_API_VERSION) return { read: true, kind: 'NetworkPolicy' };
  if (group === 'networking.k8s.io' || group === 'extensions') {
    // A Kubernetes NetworkPolicy of a version the API no longer serves: the author meant isolation, so it is
    // read as an invalid policy, which fails closed.
    return {
      read: true,
      kind: 'NetworkPolicy',
      apiVersionIssue: { field: 'apiVersion', message: unsupportedValue(apiVersion, [NETWORK_POLICY_API_VERSION]) },
    };
  }
  return {
    read: false,
    warning: `a NetworkPolicy of ${apiVersion} is not a Kubernetes NetworkPolicy (${NETWORK_POLICY_API_VERSION}); Bulkhead ignores it`,
  };
}

function ourKind(kind: string): ObjectKind | undefined {
  if (kind === 'Namespace' || kind === 'Pod' || kind === 'NetworkPolicy') return kind;
  return WORKLOAD_KINDS.find((k) => k === kind);
}
