import { type Direction, type NetworkPolicy, policyKey } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { Connection } from './endpoint.js';
import { type PeerMismatch, peerMismatch } from './peers.js';
import { type PortResolution, matchingPortIndex, resolvePolicyPort } from './ports.js';
import { destinationPod, rulesOf, sides } from './verdict.js';

/** Why one rule of an isolating policy did or did not admit a connection: what `explain` shows for denials. */
export interface RuleDiagnosis {
  readonly policy: NetworkPolicy;
  readonly direction: Direction;
  readonly rule: number;
  /** True when the rule's `ports` admit the connection (empty list: every port). */
  readonly portsMatch: boolean;
  /** What each `ports` entry means on this destination (named ports resolved). */
  readonly ports: readonly PortResolution[];
  /** Per peer, undefined when it matches; empty list when the rule has no peers (every peer matches). */
  readonly peers: readonly (PeerMismatch | undefined)[];
  readonly peersMatch: boolean;
  /** How many of the two parts (peers, ports) match: used to pick the closest rule. */
  readonly score: number;
}

export function diagnoseRule(
  snapshot: Snapshot,
  policy: NetworkPolicy,
  direction: Direction,
  index: number,
  conn: Connection,
): RuleDiagnosis {
  const rule = rulesOf(policy, direction)[index];
  if (!rule) throw new RangeError(`${policyKey(policy)} has no ${direction} rule ${index}`);
  const dest = destinationPod(conn);
  const portsMatch = matchingPortIndex(rule.ports, dest, conn.port, conn.protocol) !== -1;
  const { peer } = sides(conn, direction);
  const peers = rule.peers.map((p) => peerMismatch(snapshot, policy, p, peer));
  const peersMatch = peers.length === 0 || peers.some((m) => m === undefined);
  return {
    policy,
    direction,
    rule: index,
    portsMatch,
    ports: rule.ports.map((p) => resolvePolicyPort(p, dest)),
    peers,
    peersMatch,
    score: (portsMatch ? 1 : 0) + (peersMatch ? 1 : 0),
  };
}

/** Every rule of the given policies for a direction, closest first (most parts matching). */
export function diagnoseRules(
  snapshot: Snapshot,
  policies: readonly NetworkPolicy[],
  direction: Direction,
  conn: Connection,
): RuleDiagnosis[] {
  const all: RuleDiagnosis[] = [];
  for (const policy of policies) {
    rulesOf(policy, direction).forEach((_, i) => all.push(diagnoseRule(snapshot, policy, direction, i, conn)));
  }
  return all.sort((a, b) => b.score - a.score);
}
