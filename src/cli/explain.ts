import type { Direction, NetworkPolicy, Pod } from '../model/types.js';
import { podKey, policyKey } from '../model/types.js';
import {
  type Connection,
  type DirectionVerdict,
  connectionVerdict,
  diagnoseRules,
  endpointName,
  isolatingPolicies,
  rulesOf,
  sides,
} from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import {
  describeMismatch,
  describePeer,
  describePorts,
  describeResolution,
  describeRuleRef,
  ruleName,
  summarizeVerdict,
} from './describe.js';
import { podAddresses, podEndpoint, probeName, probesFor, sortedPods } from './simulate.js';

const DIRECTION_TITLE: Record<Direction, string> = { egress: 'Egress from', ingress: 'Ingress to' };

/** The verdict of one connection in words: per direction, isolation, the admitting rules or why none admits. */
export function explainConnection(snapshot: Snapshot, conn: Connection): string {
  const verdict = connectionVerdict(snapshot, conn);
  const head = `${endpointName(conn.from)} (${conn.from.ip}) -> ${endpointName(conn.to)} (${conn.to.ip}) ${conn.port}/${conn.protocol}: ${verdict.allowed ? 'ALLOWED' : 'DENIED'}`;
  const lines = [head];
  for (const direction of ['egress', 'ingress'] as const) {
    lines.push('', ...explainDirection(snapshot, conn, direction, verdict[direction]));
  }
  return lines.join('\n');
}

function explainDirection(snapshot: Snapshot, conn: Connection, direction: Direction, verdict: DirectionVerdict): string[] {
  const { subject } = sides(conn, direction);
  const lines = [`${DIRECTION_TITLE[direction]} ${endpointName(subject)}: ${summarizeVerdict(verdict)}`];
  if (verdict.reason === 'rule') {
    for (const ref of verdict.rules) lines.push(`  admitted by ${describeRuleRef(ref, findPolicy(snapshot, ref.policy))}`);
    return lines;
  }
  if (verdict.reason !== 'isolated') return lines;

  const policies = verdict.isolatedBy.map((key) => findPolicy(snapshot, key)).filter((p) => p !== undefined);
  for (const policy of policies) {
    for (const error of policy.errors) {
      lines.push(`  NetworkPolicy ${policyKey(policy)} is invalid (${error.field || 'object'}: ${error.message}): it allows nothing`);
    }
  }
  const diagnoses = diagnoseRules(snapshot, policies, direction, conn);
  if (diagnoses.length === 0) {
    lines.push(`  no ${direction} rules in ${verdict.isolatedBy.join(', ')}: a default deny for this direction`);
    return lines;
  }
  const best = diagnoses[0]!.score;
  lines.push(`  closest rule${diagnoses.filter((d) => d.score === best).length > 1 ? 's' : ''}:`);
  for (const d of diagnoses.filter((x) => x.score === best)) {
    const rule = rulesOf(d.policy, direction)[d.rule]!;
    lines.push(`  - NetworkPolicy ${policyKey(d.policy)} ${ruleName(direction, d.rule)}`);
    const list = direction === 'ingress' ? 'from' : 'to';
    if (rule.peers.length === 0) lines.push(`      ${list}: any peer (matches)`);
    d.peers.forEach((mismatch, i) => {
      const what = `${list}[${i}] ${describePeer(d.policy, rule.peers[i]!)}`;
      lines.push(`      ${what}: ${mismatch ? `no match: ${describeMismatch(mismatch)}` : 'matches'}`);
    });
    const ports = d.ports.length === 0 ? 'all ports' : d.ports.map(describeResolution).join(', ');
    lines.push(`      ports ${ports}: ${d.portsMatch ? 'match' : `no match for ${conn.port}/${conn.protocol}`}`);
  }
  return lines;
}

/** Policies selecting a pod, isolation per direction, and who may reach it / whom it may reach. */
export function explainPod(snapshot: Snapshot, pod: Pod): string {
  const labels = Object.entries(pod.labels).map(([k, v]) => `${k}=${v}`).join(',') || '(none)';
  const ports = pod.ports.map((p) => `${p.containerPort}/${p.protocol}${p.name ? ` (${p.name})` : ''}`).join(', ') || '(none)';
  const lines = [
    `Pod ${podKey(pod)}${pod.workload ? ` (from ${pod.workload})` : ''}`,
    `  IPs: ${pod.ips.join(', ') || '(none)'}${pod.hostNetwork ? ' (hostNetwork: NetworkPolicies never select it)' : ''}`,
    `  labels: ${labels}`,
    `  ports: ${ports}`,
  ];
  for (const direction of ['ingress', 'egress'] as const) {
    lines.push('', ...explainPodDirection(snapshot, pod, direction));
  }
  return lines.join('\n');
}

function explainPodDirection(snapshot: Snapshot, pod: Pod, direction: Direction): string[] {
  const policies = isolatingPolicies(snapshot, pod, direction);
  const title = direction === 'ingress' ? 'Ingress' : 'Egress';
  const lines: string[] = [];
  if (policies.length === 0) {
    lines.push(`${title}: not isolated (no NetworkPolicy selects it for ${direction}): all ${direction} allowed`);
  } else {
    lines.push(`${title}: isolated by ${policies.map(policyKey).join(', ')}`);
    for (const policy of policies) lines.push(...policyRuleLines(policy, direction));
  }
  const reach = reachability(snapshot, pod, direction);
  const verb = direction === 'ingress' ? 'may be reached by' : 'may reach';
  lines.push(`  ${verb}: ${reach.allowed.length > 0 ? reach.allowed.join('; ') : '(no pod)'}`);
  if (reach.denied.length > 0) lines.push(`  denied: ${reach.denied.join('; ')}`);
  return lines;
}

function policyRuleLines(policy: NetworkPolicy, direction: Direction): string[] {
  if (policy.errors.length > 0) {
    return [`  - ${policyKey(policy)} is invalid and allows nothing: ${policy.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`];
  }
  const rules = rulesOf(policy, direction);
  if (rules.length === 0) return [`  - ${policyKey(policy)}: no ${direction} rules (deny all)`];
  return rules.map((rule, i) => {
    const peers = rule.peers.length === 0 ? 'any peer' : rule.peers.map((p) => describePeer(policy, p)).join(' OR ');
    return `  - ${policyKey(policy)} ${ruleName(direction, i)}: ${peers}; ${describePorts(rule.ports)}`;
  });
}

/**
 * Other pods this pod exchanges traffic with in a direction, on the destination's declared ports, judged on the
 * whole connection (the other side's policies count too).
 */
function reachability(snapshot: Snapshot, pod: Pod, direction: Direction): { allowed: string[]; denied: string[] } {
  const allowed: string[] = [];
  const denied: string[] = [];
  for (const other of sortedPods(snapshot)) {
    if (other === pod) continue;
    const [from, to] = direction === 'ingress' ? [other, pod] : [pod, other];
    const addresses = podAddresses(from, to);
    if (!addresses) continue;
    const ok: string[] = [];
    const no: string[] = [];
    for (const probe of probesFor(to, { probes: [], externalIPs: [] })) {
      const conn = { from: podEndpoint(from, addresses.fromIP), to: podEndpoint(to, addresses.toIP), ...probe };
      (connectionVerdict(snapshot, conn).allowed ? ok : no).push(probeName(probe));
    }
    if (ok.length > 0) allowed.push(`${podKey(other)} ${ok.join(',')}`);
    if (no.length > 0) denied.push(`${podKey(other)} ${no.join(',')}`);
  }
  return { allowed, denied };
}

function findPolicy(snapshot: Snapshot, key: string): NetworkPolicy | undefined {
  const [namespace] = key.split('/');
  return snapshot.policiesInNamespace(namespace ?? '').find((p) => policyKey(p) === key);
}
