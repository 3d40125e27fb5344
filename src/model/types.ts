// The narrow, validated view of the Kubernetes objects Bulkhead reasons about.
// Everything past the loader (src/model/load*.ts) or the watch layer takes these types, never raw objects.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export type Direction = 'ingress' | 'egress';
export const DIRECTIONS: readonly Direction[] = ['egress', 'ingress'];

export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** metav1.LabelSelector. `{}` (both empty) selects everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** Pod IPs (status.podIPs), IPv4 and/or IPv6, in canonical text form. */
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  /** spec.nodeName; undefined when not scheduled or unknown (manifests). */
  readonly nodeName?: string;
  readonly ports: readonly ContainerPort[];
  /** For pseudo-pods built from a workload template: `Deployment/web`. */
  readonly workload?: string;
}

export interface Namespace {
  readonly name: string;
  /** Always includes kubernetes.io/metadata.name=<name>, as the API server sets it. */
  readonly labels: Labels;
  /** True when no Namespace object was given and it exists only because something refers to it. */
  readonly implicit: boolean;
  /** metadata.annotations, present only when the object has some (`bulkhead.io/enforcement` is read from them). */
  readonly annotations?: Labels;
}

export interface IPBlock {
  /** Canonical CIDR text (host bits as given are kept by the API; we keep the text as given after trimming). */
  readonly cidr: string;
  readonly except: readonly string[];
}

/**
 * One entry of a rule's `from`/`to` list.
 * - `pods`: namespaceSelector and/or podSelector in one peer (AND'd). An absent namespaceSelector means the
 *   policy's own namespace; an absent podSelector means every pod of the selected namespaces.
 * - `ipBlock`: CIDR with exceptions; matches any address, pod or not (upstream leaves pod IPs implementation-defined;
 *   we match them, as most enforcers do).
 */
export type Peer =
  | {
      readonly kind: 'pods';
      readonly namespaceSelector?: LabelSelector;
      readonly podSelector?: LabelSelector;
    }
  | { readonly kind: 'ipBlock'; readonly ipBlock: IPBlock };

/** One entry of a rule's `ports` list. `port` absent = every port of `protocol`; a string is a named port. */
export interface PolicyPort {
  readonly protocol: Protocol;
  readonly port?: number | string;
  /** Only with a numeric port; inclusive upper bound of the range. */
  readonly endPort?: number;
}

/** An ingress or egress rule. An empty `peers` matches every peer; an empty `ports` matches every port. */
export interface Rule {
  readonly peers: readonly Peer[];
  readonly ports: readonly PolicyPort[];
}

export interface ValidationError {
  /** `NetworkPolicy prod/allow-db` */
  readonly object: string;
  /** `spec.ingress[0].from[1].ipBlock.except[0]`; empty for whole-object errors. */
  readonly field: string;
  readonly message: string;
  /** File the object came from, when loaded from manifests. */
  readonly source?: string;
}

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** After defaulting: Ingress always, Egress when egress rules exist, unless policyTypes is given. */
  readonly policyTypes: readonly Direction[];
  /** True when spec.policyTypes was absent and defaulted (only manifests show this: the API server fills it in). */
  readonly policyTypesDefaulted?: boolean;
  readonly ingress: readonly Rule[];
  readonly egress: readonly Rule[];
  readonly annotations: Labels;
  /**
   * Non-empty when the object failed validation. Such a policy still isolates the pods it selects (in its
   * policyTypes, or both directions when those are unreadable) but allows nothing: fail closed.
   * When its podSelector itself is unreadable, it selects every pod of its namespace.
   */
  readonly errors: readonly ValidationError[];
  readonly source?: string;
}

export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export const policyKey = podKey;

export const METADATA_NAME_LABEL = 'kubernetes.io/metadata.name';
