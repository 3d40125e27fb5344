import type { Direction, NetworkPolicy, Pod, Rule } from '../model/types.js';
import { policyKey } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { type Connection, type Endpoint, selectablePod } from './endpoint.js';
import { auditIsolation, isolation } from './isolation.js';
import { peerMatches } from './peers.js';
import { matchingPortIndex } from './ports.js';

/** A rule that admits a connection: policy, direction, rule index, and which peer and port entry matched. */
export interface RuleRef {
  readonly policy: string;
  readonly direction: Direction;
  readonly rule: number;
  /** Index in `from`/`to`; null when the list is empty (every peer). */
  readonly peer: number | null;
  /** Index in `ports`; null when the list is empty (every port). */
  readonly port: number | null;
}

/**
 * What audit-mode policies (enforcement.ts) would decide in a direction that no enforce-mode policy isolates:
 * reported and counted, never enforced.
 */
export type AuditDirectionVerdict =
  | { readonly allowed: true; readonly auditedBy: readonly string[]; readonly rules: readonly RuleRef[] }
  | { readonly allowed: false; readonly auditedBy: readonly string[] };

/** The verdict for one direction of a connection, with its reason. */
export type DirectionVerdict =
  /**
   * No enforce-mode policy selects the pod for this direction. `audit` is present when audit-mode policies do:
   * what they would decide if enforced.
   */
  | { readonly allowed: true; readonly reason: 'not-isolated'; readonly audit?: AuditDirectionVerdict }
  /** This side is not a selectable pod, so no policy applies to it. */
  | { readonly allowed: true; readonly reason: 'not-a-pod'; readonly endpoint: 'external' | 'host-network' }
  /** A pod talking to itself never leaves its network namespace. */
  | { readonly allowed: true; readonly reason: 'loopback' }
  /**
   * Traffic to and from the pod's own node is always allowed (API reference: "regardless of the IP address of the
   * Pod or the node"); the node is seen here as its hostNetwork pods. It never crosses the forward hook either.
   */
  | { readonly allowed: true; readonly reason: 'node-local' }
  | {
      readonly allowed: true;
      readonly reason: 'rule';
      readonly isolatedBy: readonly string[];
      readonly rules: readonly RuleRef[];
    }
  | { readonly allowed: false; readonly reason: 'isolated'; readonly isolatedBy: readonly string[] };

export interface ConnectionVerdict {
  /** Egress allowed at the source AND ingress allowed at the destination, by enforce-mode policies. */
  readonly allowed: boolean;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
  /**
   * Present when the connection is allowed but audit-mode policies, were they enforced, would deny it in some
   * direction: it passes, and the kernel counts it as audit.
   */
  readonly audit?: true;
}

export function connectionVerdict(snapshot: Snapshot, conn: Connection): ConnectionVerdict {
  const egress = directionVerdict(snapshot, conn, 'egress');
  const ingress = directionVerdict(snapshot, conn, 'ingress');
  const allowed = egress.allowed && ingress.allowed;
  return allowed && (auditDenies(egress) || auditDenies(ingress)) ? { allowed, egress, ingress, audit: true } : { allowed, egress, ingress };
}

/** Whether audit-mode policies would deny what this direction's verdict lets pass. */
export function auditDenies(verdict: DirectionVerdict): boolean {
  return verdict.reason === 'not-isolated' && verdict.audit !== undefined && !verdict.audit.allowed;
}

/** The endpoint whose policies decide `direction`, and the other one (the peer). */
export function sides(conn: Connection, direction: Direction): { subject: Endpoint; peer: Endpoint } {
  return direction === 'egress' ? { subject: conn.from, peer: conn.to } : { subject: conn.to, peer: conn.from };
}

/** The destination pod, against which named ports resolve (in both directions). */
export function destinationPod(conn: Connection): Pod | undefined {
  return conn.to.kind === 'pod' ? conn.to.pod : undefined;
}

export function directionVerdict(snapshot: Snapshot, conn: Connection, direction: Direction): DirectionVerdict {
  const { subject, peer } = sides(conn, direction);
  const pod = selectablePod(subject);
  if (!pod) return { allowed: true, reason: 'not-a-pod', endpoint: subject.kind === 'pod' ? 'host-network' : 'external' };
  if (peer.kind === 'pod' && peer.pod === pod) return { allowed: true, reason: 'loopback' };
  if (isOwnNode(peer, pod)) return { allowed: true, reason: 'node-local' };

  const { policies, keys: isolatedBy } = isolation(snapshot, pod, direction);
  if (policies.length === 0) {
    const { policies: audited, keys: auditedBy } = auditIsolation(snapshot, pod, direction);
    if (audited.length === 0) return { allowed: true, reason: 'not-isolated' };
    const rules = admittingRules(snapshot, audited, direction, conn);
    return { allowed: true, reason: 'not-isolated', audit: rules.length > 0 ? { allowed: true, auditedBy, rules } : { allowed: false, auditedBy } };
  }

  const rules = admittingRules(snapshot, policies, direction, conn);
  return rules.length > 0 ? { allowed: true, reason: 'rule', isolatedBy, rules } : { allowed: false, reason: 'isolated', isolatedBy };
}

function admittingRules(snapshot: Snapshot, policies: readonly NetworkPolicy[], direction: Direction, conn: Connection): RuleRef[] {
  const rules: RuleRef[] = [];
  for (const policy of policies) {
    const list = rulesOf(policy, direction);
    for (let i = 0; i < list.length; i++) {
      const ref = ruleAdmits(snapshot, policy, direction, i, conn);
      if (ref) rules.push(ref);
    }
  }
  return rules;
}

export function rulesOf(policy: NetworkPolicy, direction: Direction): readonly Rule[] {
  return direction === 'ingress' ? policy.ingress : policy.egress;
}

/** Whether rule `index` of `policy` admits the connection in `direction`; the matching peer and port when it does. */
export function ruleAdmits(
  snapshot: Snapshot,
  policy: NetworkPolicy,
  direction: Direction,
  index: number,
  conn: Connection,
): RuleRef | undefined {
  const rule = rulesOf(policy, direction)[index];
  // An invalid policy fails closed whatever rules survived its parsing: it isolates and admits nothing.
  if (!rule || policy.errors.length > 0) return undefined;
  const port = matchingPortIndex(rule.ports, destinationPod(conn), conn.port, conn.protocol);
  if (port === -1) return undefined;
  // sides() without its object: this runs for every rule of every verdict.
  const peer = direction === 'egress' ? conn.to : conn.from;
  let peerIndex: number | null = null;
  if (rule.peers.length > 0) {
    peerIndex = -1;
    for (let i = 0; i < rule.peers.length && peerIndex === -1; i++) {
      if (peerMatches(snapshot, policy, rule.peers[i]!, peer)) peerIndex = i;
    }
    if (peerIndex === -1) return undefined;
  }
  return { policy: policyKey(policy), direction, rule: index, peer: peerIndex, port };
}

function isOwnNode(peer: Endpoint, pod: Pod): boolean {
  return (
    peer.kind === 'pod' &&
    peer.pod.hostNetwork &&
    peer.pod.nodeName !== undefined &&
    peer.pod.nodeName === pod.nodeName
  );
}
