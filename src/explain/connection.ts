import { type Direction, type NetworkPolicy, policyKey } from '../model/types.js';
import {
  type Connection,
  type DirectionVerdict,
  type Endpoint,
  type RuleRef,
  connectionVerdict,
  diagnoseRules,
  endpointName,
  rulesOf,
  sides,
} from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { AdmittingRule, ClosestRule, ConnectionExplanation, DirectionExplanation, EndpointExplanation } from './types.js';

/** The verdict of one connection, per direction, with the admitting rules or, for a denial, what came closest. */
export function connectionExplanation(snapshot: Snapshot, conn: Connection, portName?: string): ConnectionExplanation {
  const verdict = connectionVerdict(snapshot, conn);
  return {
    kind: 'connection',
    from: endpointExplanation(conn.from),
    to: endpointExplanation(conn.to),
    port: conn.port,
    ...(portName === undefined ? {} : { portName }),
    protocol: conn.protocol,
    allowed: verdict.allowed,
    ...(verdict.audit ? { audit: verdict.audit } : {}),
    egress: directionExplanation(snapshot, conn, 'egress', verdict.egress),
    ingress: directionExplanation(snapshot, conn, 'ingress', verdict.ingress),
  };
}

function endpointExplanation(endpoint: Endpoint): EndpointExplanation {
  if (endpoint.kind === 'external') return { kind: 'external', name: endpoint.ip, ip: endpoint.ip };
  const { pod } = endpoint;
  return {
    kind: 'pod',
    name: endpointName(endpoint),
    ip: endpoint.ip,
    ...(pod.nodeName === undefined ? {} : { nodeName: pod.nodeName }),
    hostNetwork: pod.hostNetwork,
  };
}

function directionExplanation(
  snapshot: Snapshot,
  conn: Connection,
  direction: Direction,
  verdict: DirectionVerdict,
): DirectionExplanation {
  const subject = endpointName(sides(conn, direction).subject);
  switch (verdict.reason) {
    case 'not-isolated': {
      const { audit, ...rest } = verdict;
      if (audit === undefined) return { subject, ...rest };
      return {
        subject,
        ...rest,
        audit: audit.allowed ? { ...audit, rules: audit.rules.map((ref) => admittingRule(snapshot, ref)) } : audit,
      };
    }
    case 'not-a-pod':
    case 'loopback':
    case 'node-local':
      return { subject, ...verdict };
    case 'rule':
      return { subject, ...verdict, rules: verdict.rules.map((ref) => admittingRule(snapshot, ref)) };
    case 'isolated': {
      const policies = verdict.isolatedBy.map((key) => findPolicy(snapshot, key)).filter((p) => p !== undefined);
      return {
        subject,
        ...verdict,
        invalidPolicies: policies
          .filter((p) => p.errors.length > 0)
          .map((p) => ({ policy: policyKey(p), errors: p.errors.map(({ field, message }) => ({ field, message })) })),
        closestRules: closestRules(snapshot, policies, direction, conn),
      };
    }
    default: {
      const unreachable: never = verdict;
      return unreachable;
    }
  }
}

function admittingRule(snapshot: Snapshot, ref: RuleRef): AdmittingRule {
  // The verdict found this rule in this snapshot.
  const rule = rulesOf(findPolicy(snapshot, ref.policy)!, ref.direction)[ref.rule]!;
  return {
    ...ref,
    matchedPeer: ref.peer === null ? null : rule.peers[ref.peer]!,
    matchedPort: ref.port === null ? null : rule.ports[ref.port]!,
  };
}

/** The rules with the most parts (peers, ports) matching: the ones a fix most likely belongs to. */
function closestRules(snapshot: Snapshot, policies: readonly NetworkPolicy[], direction: Direction, conn: Connection): ClosestRule[] {
  const diagnoses = diagnoseRules(snapshot, policies, direction, conn);
  const best = diagnoses[0]?.score;
  return diagnoses
    .filter((d) => d.score === best)
    .map((d) => {
      const rule = rulesOf(d.policy, direction)[d.rule]!;
      return {
        policy: policyKey(d.policy),
        rule: d.rule,
        peers: rule.peers.map((peer, i) => ({ peer, mismatch: d.peers[i] ?? null })),
        peersMatch: d.peersMatch,
        ports: d.ports,
        portsMatch: d.portsMatch,
      };
    });
}

function findPolicy(snapshot: Snapshot, key: string): NetworkPolicy | undefined {
  const [namespace] = key.split('/');
  return snapshot.policiesInNamespace(namespace ?? '').find((p) => policyKey(p) === key);
}
