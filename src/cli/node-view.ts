// The node's part of an agent's answer in words: for each local pod the explanation is about, whether its chain is
// in the kernel, the chain's rules as `nft list chain` prints them, and what it dropped; and where the kernel
// disagrees with the agent's own verdict (a chain missing for an isolated pod, or left for one no longer isolated).
import type { Direction } from '../model/types.js';
import type { AgentConnectionExplanation, AgentExplanation, AgentPodExplanation, PodNodeView } from './agent-client.js';

const TITLE: Record<Direction, string> = { ingress: 'Ingress', egress: 'Egress' };

/** What chain the agent's own verdict calls for: an enforcing one, an audit one (audit-mode policies only), none. */
type ChainDue = 'isolated' | 'audited' | 'none';

function chainDue(isolated: boolean, audited: boolean): ChainDue {
  return isolated ? 'isolated' : audited ? 'audited' : 'none';
}

/** `agent` says where the answer came from: the agent's URL, and its pod when it was found in the cluster. */
export function renderNodeView(answer: AgentExplanation, agent: string): string {
  const head = `Node ${answer.node.name} (agent ${agent})`;
  const lines = answer.kind === 'pod' ? podLines(answer) : connectionLines(answer);
  return [head, ...lines].join('\n');
}

function podLines(answer: AgentPodExplanation): string[] {
  const { rulesInKernel, kernelRules, drops } = answer.node;
  if (rulesInKernel === undefined || kernelRules === undefined || drops === undefined) {
    return [`  ${answer.pod} is not on this node: no chains of it here`];
  }
  const view = { rulesInKernel, kernelRules, drops };
  return (['ingress', 'egress'] as const).flatMap((direction) =>
    directionLines(`${TITLE[direction]} of ${answer.pod}`, view, direction, chainDue(answer[direction].isolated, answer[direction].audit !== undefined)),
  );
}

function connectionLines(answer: AgentConnectionExplanation): string[] {
  const ends = [
    { view: answer.node.from, endpoint: answer.from, direction: 'egress' as const },
    { view: answer.node.to, endpoint: answer.to, direction: 'ingress' as const },
  ];
  const lines = ends.flatMap(({ view, endpoint, direction }) => {
    if (view === undefined) return [];
    const verdict = answer[direction];
    // Loopback and node-local traffic is allowed before isolation is asked: the verdict does not say whether a chain is due.
    const due =
      verdict.reason === 'rule' || verdict.reason === 'isolated'
        ? 'isolated'
        : verdict.reason === 'not-isolated'
          ? chainDue(false, verdict.audit !== undefined)
          : undefined;
    return directionLines(`${TITLE[direction]} of ${endpoint.name}`, view, direction, due);
  });
  return lines.length > 0 ? lines : [`  neither ${answer.from.name} nor ${answer.to.name} is on this node: no chains of them here`];
}

function directionLines(title: string, view: PodNodeView, direction: Direction, due: ChainDue | undefined): string[] {
  const inKernel = view.rulesInKernel[direction];
  const { packets, bytes } = view.drops[direction];
  const rules = view.kernelRules[direction];
  const chain = inKernel ? `chain in the kernel (${rules.length} rule${rules.length === 1 ? '' : 's'})` : 'no chain in the kernel';
  const lines = [`  ${title}: ${chain}; dropped ${packets} packet${packets === 1 ? '' : 's'} (${bytes} bytes)`];
  if (due === 'isolated' && !inKernel) lines.push(`    the agent's view isolates it, but the kernel holds no ${direction} chain: not enforced here yet`);
  if (due === 'audited' && !inKernel) lines.push(`    the agent's view audits it, but the kernel holds no ${direction} audit chain: not counted here yet`);
  if (due === 'none' && inKernel) lines.push(`    the agent's view does not isolate it, but the kernel still holds an ${direction} chain`);
  for (const rule of rules) lines.push(`    ${rule}`);
  return lines;
}
