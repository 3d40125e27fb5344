import type { Direction, NetworkPolicy, Peer, PolicyPort, Rule } from '../../model/types.js';
import { DIRECTIONS } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { appliesTo, rulesOf } from '../index.js';

// How the checks visit policies: each finding needs the exact field path of what it points at.

/**
 * The policies whose content the checks read. An invalid policy allows nothing whatever its rules say (fail
 * closed), so only invalid-policy speaks of it: anything else said about its content would be noise.
 */
export function validPolicies(snapshot: Snapshot): NetworkPolicy[] {
  return snapshot.policies.filter((policy) => policy.errors.length === 0);
}

export interface RuleAt {
  readonly direction: Direction;
  readonly index: number;
  readonly rule: Rule;
  /** `spec.ingress[0]` */
  readonly field: string;
}

export interface PeerAt {
  readonly rule: RuleAt;
  readonly index: number;
  readonly peer: Peer;
  /** `spec.ingress[0].from[1]` */
  readonly field: string;
}

export interface PortAt {
  readonly rule: RuleAt;
  readonly index: number;
  readonly port: PolicyPort;
  /** `spec.ingress[0].ports[1]` */
  readonly field: string;
}

export function peersListName(direction: Direction): 'from' | 'to' {
  return direction === 'ingress' ? 'from' : 'to';
}

/** Rules of the directions the policy enforces; rules of the others are ignored (and reported as such). */
export function enforcedRules(policy: NetworkPolicy): RuleAt[] {
  return DIRECTIONS.filter((direction) => appliesTo(policy, direction)).flatMap((direction) =>
    rulesOf(policy, direction).map((rule, index) => ({ direction, index, rule, field: `spec.${direction}[${index}]` })),
  );
}

export function peersOf(rule: RuleAt): PeerAt[] {
  const list = peersListName(rule.direction);
  return rule.rule.peers.map((peer, index) => ({ rule, index, peer, field: `${rule.field}.${list}[${index}]` }));
}

export function portsOf(rule: RuleAt): PortAt[] {
  return rule.rule.ports.map((port, index) => ({ rule, index, port, field: `${rule.field}.ports[${index}]` }));
}
