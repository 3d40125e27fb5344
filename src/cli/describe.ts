import type { Direction, NetworkPolicy, Peer, PolicyPort } from '../model/types.js';
import type { AdmittingRule } from '../explain/index.js';
import type { DirectionVerdict, PeerMismatch, PortResolution } from '../policy/index.js';
import { formatSelector } from '../policy/index.js';

// Words for the verdicts and objects of src/policy. Rendering only: nothing here decides anything.

/** `policy` is the peer's policy: a peer without namespaceSelector means that policy's own namespace. */
export function describePeer(policy: Pick<NetworkPolicy, 'namespace'>, peer: Peer): string {
  if (peer.kind === 'ipBlock') {
    const except = peer.ipBlock.except.length > 0 ? ` except ${peer.ipBlock.except.join(', ')}` : '';
    return `ipBlock ${peer.ipBlock.cidr}${except}`;
  }
  const pods = peer.podSelector ? `pods ${formatSelector(peer.podSelector)}` : 'all pods';
  const namespaces = peer.namespaceSelector
    ? formatSelector(peer.namespaceSelector) === '{}'
      ? 'in all namespaces'
      : `in namespaces ${formatSelector(peer.namespaceSelector)}`
    : `in namespace ${policy.namespace}`;
  return `${pods} ${namespaces}`;
}

function describePolicyPort(port: PolicyPort): string {
  if (port.port === undefined) return `${port.protocol}/any`;
  if (port.endPort !== undefined) return `${port.protocol}/${port.port}-${port.endPort}`;
  return `${port.protocol}/${port.port}`;
}

export function describePorts(ports: readonly PolicyPort[]): string {
  return ports.length === 0 ? 'all ports' : ports.map(describePolicyPort).join(', ');
}

export function describeResolution(resolution: PortResolution): string {
  switch (resolution.kind) {
    case 'all-ports':
      return `${resolution.protocol}/any`;
    case 'range': {
      const { protocol, first, last } = resolution.range;
      return first === last ? `${protocol}/${first}` : `${protocol}/${first}-${last}`;
    }
    case 'unresolved':
      return `${resolution.protocol}/${resolution.name} (not declared by the destination)`;
    default: {
      const unreachable: never = resolution;
      return unreachable;
    }
  }
}

export function describeMismatch(mismatch: PeerMismatch): string {
  switch (mismatch.kind) {
    case 'not-a-pod':
      return 'the other side is not a pod policies can select (external host or hostNetwork pod)';
    case 'other-namespace':
      return `the pod is not in namespace ${mismatch.expected} (a podSelector alone means the policy's own namespace)`;
    case 'namespace-labels':
      return "the pod's namespace labels do not match the namespaceSelector";
    case 'pod-labels':
      return "the pod's labels do not match the podSelector";
    case 'outside-cidr':
      return 'the address is outside the CIDR';
    case 'in-except':
      return `the address is in the except ${mismatch.except}`;
    default: {
      const unreachable: never = mismatch;
      return unreachable;
    }
  }
}

export function ruleName(direction: Direction, rule: number): string {
  return `spec.${direction}[${rule}]`;
}

export function describeAdmittingRule(ref: AdmittingRule): string {
  const list = ref.direction === 'ingress' ? 'from' : 'to';
  const namespace = ref.policy.split('/')[0] ?? '';
  const peer = ref.matchedPeer === null ? `any peer (empty ${list})` : `${list}[${ref.peer}] ${describePeer({ namespace }, ref.matchedPeer)}`;
  const port = ref.matchedPort === null ? 'all ports' : `ports[${ref.port}] ${describePolicyPort(ref.matchedPort)}`;
  return `NetworkPolicy ${ref.policy} ${ruleName(ref.direction, ref.rule)}: ${peer}, ${port}`;
}

/** One line summarizing a direction's verdict, without the rule details. */
export function summarizeVerdict(verdict: DirectionVerdict): string {
  switch (verdict.reason) {
    case 'not-isolated':
      if (verdict.audit === undefined) return 'allowed: no NetworkPolicy isolates the pod in this direction';
      return verdict.audit.allowed
        ? `allowed: no enforced NetworkPolicy isolates the pod in this direction; audit policies ${verdict.audit.auditedBy.join(', ')} would allow it too`
        : `allowed, but audit policies ${verdict.audit.auditedBy.join(', ')} would deny it (it passes and is counted as audit)`;
    case 'not-a-pod':
      return verdict.endpoint === 'external'
        ? 'allowed: an external host, no NetworkPolicy applies to it'
        : 'allowed: a hostNetwork pod, NetworkPolicies do not apply to it';
    case 'loopback':
      return 'allowed: a pod reaching itself never leaves its network namespace';
    case 'node-local':
      return "allowed: traffic to and from the pod's own node is always allowed";
    case 'rule':
      return `allowed by ${verdict.rules.length === 1 ? 'a rule' : `${verdict.rules.length} rules`}; isolated by ${verdict.isolatedBy.join(', ')}`;
    case 'isolated':
      return `DENIED: isolated by ${verdict.isolatedBy.join(', ')} and no rule admits it`;
    default: {
      const unreachable: never = verdict;
      return unreachable;
    }
  }
}
