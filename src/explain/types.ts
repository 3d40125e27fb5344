// The explanation objects: what `bulkhead explain -o json` prints and what the agent's /explain returns (with its
// node's view added). Plain JSON data, self-contained: the text rendering works from these alone, so a client
// holding only the agent's answer renders the same words as the CLI, and text and JSON cannot disagree.
import type { ContainerPort, Labels, Peer, PolicyPort, Protocol } from '../model/types.js';
import type { DirectionVerdict, PeerMismatch, PortResolution, RuleRef } from '../policy/index.js';

export type EndpointExplanation =
  | {
      readonly kind: 'pod';
      /** `ns/name`. */
      readonly name: string;
      /** The address this connection uses. */
      readonly ip: string;
      /** spec.nodeName. */
      readonly nodeName?: string;
      readonly hostNetwork: boolean;
    }
  | { readonly kind: 'external'; readonly name: string; readonly ip: string };

/** A rule that admits the connection: the verdict's RuleRef plus the peer and port entries that matched. */
export interface AdmittingRule extends RuleRef {
  /** The `from`/`to` entry that matched; null when the list is empty (every peer). */
  readonly matchedPeer: Peer | null;
  /** The `ports` entry that matched; null when the list is empty (every port). */
  readonly matchedPort: PolicyPort | null;
}

export interface InvalidPolicy {
  readonly policy: string;
  readonly errors: readonly { readonly field: string; readonly message: string }[];
}

/** One of the rules closest to admitting a denied connection, and what of it did not match. */
export interface ClosestRule {
  readonly policy: string;
  readonly rule: number;
  /** Every `from`/`to` entry with why it does not match (null when it does); empty: the rule names no peers. */
  readonly peers: readonly { readonly peer: Peer; readonly mismatch: PeerMismatch | null }[];
  readonly peersMatch: boolean;
  /** What each `ports` entry means on this destination (named ports resolved); empty: every port. */
  readonly ports: readonly PortResolution[];
  readonly portsMatch: boolean;
}

/** What audit-mode policies would decide (AuditDirectionVerdict), their admitting rules with the entries that matched. */
export type AuditExplanation =
  | { readonly allowed: true; readonly auditedBy: readonly string[]; readonly rules: readonly AdmittingRule[] }
  | { readonly allowed: false; readonly auditedBy: readonly string[] };

type Explained<V extends DirectionVerdict> = V extends { readonly reason: 'rule' }
  ? Omit<V, 'rules'> & { readonly rules: readonly AdmittingRule[] }
  : V extends { readonly reason: 'not-isolated' }
    ? Omit<V, 'audit'> & { readonly audit?: AuditExplanation }
    : V extends { readonly reason: 'isolated' }
      ? V & {
          /** Isolating policies that failed validation: they isolate and admit nothing. */
          readonly invalidPolicies: readonly InvalidPolicy[];
          /** The rules of the isolating policies with the most parts matching; empty: a default deny. */
          readonly closestRules: readonly ClosestRule[];
        }
      : V;

/** One direction's verdict (the DirectionVerdict union, flat) with the details its reason calls for. */
export type DirectionExplanation = {
  /** The endpoint whose policies decide this direction: the source for egress, the destination for ingress. */
  readonly subject: string;
} & Explained<DirectionVerdict>;

export interface ConnectionExplanation {
  readonly kind: 'connection';
  readonly from: EndpointExplanation;
  readonly to: EndpointExplanation;
  readonly port: number;
  /** Present when the port was asked for by the name the destination declares it under. */
  readonly portName?: string;
  readonly protocol: Protocol;
  /** Egress allowed at the source AND ingress allowed at the destination. */
  readonly allowed: boolean;
  /** Allowed, but audit-mode policies would deny it: it passes and is counted as audit (ConnectionVerdict.audit). */
  readonly audit?: true;
  readonly egress: DirectionExplanation;
  readonly ingress: DirectionExplanation;
}

export interface PolicyRules {
  readonly policy: string;
  /** Validation errors: an invalid policy isolates and allows nothing, whatever rules survived parsing. */
  readonly errors: readonly { readonly field: string; readonly message: string }[];
  readonly rules: readonly { readonly peers: readonly Peer[]; readonly ports: readonly PolicyPort[] }[];
}

export interface PeerPorts {
  /** `ns/name` of the other pod. */
  readonly pod: string;
  readonly ports: readonly { readonly port: number; readonly protocol: Protocol }[];
}

export interface PodExplanationOptions {
  /** Default true. */
  readonly reachability?: boolean;
}

export interface PodDirectionExplanation {
  readonly isolated: boolean;
  /** The policies isolating the pod in this direction, with their rules for it. */
  readonly policies: readonly PolicyRules[];
  /**
   * Present when audit-mode policies (bulkhead.io/enforcement: audit) would isolate the pod here, were they
   * enforced: what they would deny passes and is counted as audit. Never beside enforcing `policies`.
   */
  readonly audit?: readonly PolicyRules[];
  /**
   * The other pods it exchanges traffic with in this direction, on the destination's declared ports, judged on the
   * whole connection (the other side's policies count too). Absent from the agent's /explain: it costs a verdict
   * per pod of the cluster (2 s and 3.5 MB of JSON at 30,000 pods), on the loop that keeps the kernel in sync.
   */
  readonly reachability?: { readonly allowed: readonly PeerPorts[]; readonly denied: readonly PeerPorts[] };
}

export interface PodExplanation {
  readonly kind: 'pod';
  /** `ns/name`. */
  readonly pod: string;
  readonly workload?: string;
  /** spec.nodeName (`node` is the agent's own view, which /explain adds). */
  readonly nodeName?: string;
  readonly hostNetwork: boolean;
  readonly ips: readonly string[];
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  readonly ingress: PodDirectionExplanation;
  readonly egress: PodDirectionExplanation;
}
