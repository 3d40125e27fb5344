// `bulkhead explain` in words. The words render the explanation objects of src/explain and nothing else, so the
// text and `-o json` (and the agent's /explain) cannot disagree.
import type { Direction, Pod } from '../model/types.js';
import {
  type ConnectionExplanation,
  type DirectionExplanation,
  type PodDirectionExplanation,
  type PodExplanation,
  type PolicyRules,
  type QueryContext,
  type QueryError,
  connectionExplanation,
  explainConnectionQuery,
  explainPodQuery,
  podExplanation,
} from '../explain/index.js';
import type { Connection } from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { UsageError } from './args.js';
import {
  describeAdmittingRule,
  describeMismatch,
  describePeer,
  describePorts,
  describeResolution,
  ruleName,
  summarizeVerdict,
} from './describe.js';
import { probeName } from './simulate.js';

const DIRECTION_TITLE: Record<Direction, string> = { egress: 'Egress from', ingress: 'Ingress to' };

/** The verdict of one connection in words: per direction, isolation, the admitting rules or why none admits. */
export function explainConnection(snapshot: Snapshot, conn: Connection): string {
  return renderConnectionExplanation(connectionExplanation(snapshot, conn));
}

/** Policies selecting a pod, isolation per direction, and who may reach it / whom it may reach. */
export function explainPod(snapshot: Snapshot, pod: Pod): string {
  return renderPodExplanation(podExplanation(snapshot, pod));
}

export function renderConnectionExplanation(explanation: ConnectionExplanation): string {
  const { from, to, port, portName, protocol } = explanation;
  const service = `${port}/${protocol}${portName === undefined ? '' : ` (${portName})`}`;
  const verdict = explanation.allowed ? (explanation.audit ? 'ALLOWED (audit only: audit-mode policies would deny it)' : 'ALLOWED') : 'DENIED';
  const head = `${from.name} (${from.ip}) -> ${to.name} (${to.ip}) ${service}: ${verdict}`;
  const lines = [head];
  for (const direction of ['egress', 'ingress'] as const) {
    lines.push('', ...renderDirection(explanation, direction));
  }
  return lines.join('\n');
}

function renderDirection(explanation: ConnectionExplanation, direction: Direction): string[] {
  const verdict: DirectionExplanation = explanation[direction];
  const lines = [`${DIRECTION_TITLE[direction]} ${verdict.subject}: ${summarizeVerdict(verdict)}`];
  if (verdict.reason === 'rule') {
    for (const rule of verdict.rules) lines.push(`  admitted by ${describeAdmittingRule(rule)}`);
    return lines;
  }
  if (verdict.reason === 'not-isolated' && verdict.audit?.allowed) {
    for (const rule of verdict.audit.rules) lines.push(`  audit: would be admitted by ${describeAdmittingRule(rule)}`);
  }
  if (verdict.reason !== 'isolated') return lines;

  for (const invalid of verdict.invalidPolicies) {
    for (const error of invalid.errors) {
      lines.push(`  NetworkPolicy ${invalid.policy} is invalid (${error.field || 'object'}: ${error.message}): it allows nothing`);
    }
  }
  if (verdict.closestRules.length === 0) {
    lines.push(`  no ${direction} rules in ${verdict.isolatedBy.join(', ')}: a default deny for this direction`);
    return lines;
  }
  lines.push(`  closest rule${verdict.closestRules.length > 1 ? 's' : ''}:`);
  const list = direction === 'ingress' ? 'from' : 'to';
  for (const closest of verdict.closestRules) {
    const namespace = closest.policy.split('/')[0] ?? '';
    lines.push(`  - NetworkPolicy ${closest.policy} ${ruleName(direction, closest.rule)}`);
    if (closest.peers.length === 0) lines.push(`      ${list}: any peer (matches)`);
    closest.peers.forEach(({ peer, mismatch }, i) => {
      const what = `${list}[${i}] ${describePeer({ namespace }, peer)}`;
      lines.push(`      ${what}: ${mismatch ? `no match: ${describeMismatch(mismatch)}` : 'matches'}`);
    });
    const ports = closest.ports.length === 0 ? 'all ports' : closest.ports.map(describeResolution).join(', ');
    lines.push(`      ports ${ports}: ${closest.portsMatch ? 'match' : `no match for ${explanation.port}/${explanation.protocol}`}`);
  }
  return lines;
}

export function renderPodExplanation(explanation: PodExplanation): string {
  const labels = Object.entries(explanation.labels).map(([k, v]) => `${k}=${v}`).join(',') || '(none)';
  const ports = explanation.ports.map((p) => `${p.containerPort}/${p.protocol}${p.name ? ` (${p.name})` : ''}`).join(', ') || '(none)';
  const lines = [
    `Pod ${explanation.pod}${explanation.workload ? ` (from ${explanation.workload})` : ''}`,
    `  IPs: ${explanation.ips.join(', ') || '(none)'}${explanation.hostNetwork ? ' (hostNetwork: NetworkPolicies never select it)' : ''}`,
    `  labels: ${labels}`,
    `  ports: ${ports}`,
  ];
  for (const direction of ['ingress', 'egress'] as const) {
    lines.push('', ...renderPodDirection(explanation[direction], direction));
  }
  return lines.join('\n');
}

function renderPodDirection(explanation: PodDirectionExplanation, direction: Direction): string[] {
  const title = direction === 'ingress' ? 'Ingress' : 'Egress';
  const lines: string[] = [];
  if (explanation.audit !== undefined) {
    const policies = explanation.audit.map((p) => p.policy).join(', ');
    lines.push(`${title}: not isolated; audit policies ${policies} would isolate it: all ${direction} allowed, what they would deny is counted as audit`);
    for (const policy of explanation.audit) lines.push(...policyRuleLines(policy, direction));
  } else if (!explanation.isolated) {
    lines.push(`${title}: not isolated (no NetworkPolicy selects it for ${direction}): all ${direction} allowed`);
  } else {
    lines.push(`${title}: isolated by ${explanation.policies.map((p) => p.policy).join(', ')}`);
    for (const policy of explanation.policies) lines.push(...policyRuleLines(policy, direction));
  }
  // The agent leaves reachability out (see PodDirectionExplanation): then there is nothing to say about it.
  if (explanation.reachability === undefined) return lines;
  const { allowed, denied } = explanation.reachability;
  const peers = (list: typeof allowed) => list.map((p) => `${p.pod} ${p.ports.map(probeName).join(',')}`).join('; ');
  const verb = direction === 'ingress' ? 'may be reached by' : 'may reach';
  lines.push(`  ${verb}: ${allowed.length > 0 ? peers(allowed) : '(no pod)'}`);
  if (denied.length > 0) lines.push(`  denied: ${peers(denied)}`);
  return lines;
}

function policyRuleLines(policy: PolicyRules, direction: Direction): string[] {
  if (policy.errors.length > 0) {
    return [`  - ${policy.policy} is invalid and allows nothing: ${policy.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`];
  }
  if (policy.rules.length === 0) return [`  - ${policy.policy}: no ${direction} rules (deny all)`];
  const namespace = policy.policy.split('/')[0] ?? '';
  return policy.rules.map((rule, i) => {
    const peers = rule.peers.length === 0 ? 'any peer' : rule.peers.map((p) => describePeer({ namespace }, p)).join(' OR ');
    return `  - ${policy.policy} ${ruleName(direction, i)}: ${peers}; ${describePorts(rule.ports)}`;
  });
}

export interface ExplainCommandOptions extends QueryContext {
  readonly output: 'text' | 'json';
}

/**
 * What `bulkhead explain` prints for its arguments (FROM TO PORT/PROTO, or pod NS/NAME): the explanation object,
 * as JSON or in words. A bad request or an unknown pod is a UsageError.
 */
export function explainCommandOutput(snapshot: Snapshot, args: readonly string[], options: ExplainCommandOptions): string {
  const explanation = explainArguments(snapshot, args, options);
  return options.output === 'json' ? JSON.stringify(explanation, null, 2) : renderExplanation(explanation);
}

/** The explanation `bulkhead explain` gives for its arguments; a bad request or an unknown pod is a UsageError. */
export function explainArguments(snapshot: Snapshot, args: readonly string[], context: QueryContext): PodExplanation | ConnectionExplanation {
  const result =
    args[0] === 'pod'
      ? args.length === 2
        ? explainPodQuery(snapshot, args[1]!, context)
        : usage('usage: bulkhead explain -f PATH pod NAMESPACE/NAME')
      : args.length === 3
        ? explainConnectionQuery(snapshot, { from: args[0]!, to: args[1]!, port: args[2]! }, context)
        : usage('usage: bulkhead explain -f PATH FROM TO PORT/PROTO');
  if (!result.ok) throw new UsageError(result.error.message);
  return result.value;
}

export function renderExplanation(explanation: PodExplanation | ConnectionExplanation): string {
  return explanation.kind === 'pod' ? renderPodExplanation(explanation) : renderConnectionExplanation(explanation);
}

function usage(message: string): { ok: false; error: QueryError } {
  return { ok: false, error: { kind: 'invalid', message } };
}
