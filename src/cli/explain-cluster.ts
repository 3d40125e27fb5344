// `bulkhead explain --cluster`: the explanation from the live objects, then the view of the agent on each node the
// explanation is about (the pod's node; for a connection, each pod end's node): its chains in the kernel and its drop
// counters. An agent that cannot be found or asked costs a note, never the explanation.
import ipaddr from 'ipaddr.js';
import type { ConnectionExplanation, EndpointExplanation, PodExplanation, QueryContext } from '../explain/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { type AgentExplanation, type AgentQuery, AgentRequestError, askAgent } from './agent-client.js';
import { findAgent } from './agent-discovery.js';
import { explainArguments, renderExplanation } from './explain.js';
import { renderNodeView } from './node-view.js';

export interface ClusterExplainOptions extends QueryContext {
  readonly output: 'text' | 'json';
  /** Ask this agent rather than find the agents of the nodes concerned. */
  readonly agent?: string;
  /** The port agents found in the cluster answer on. */
  readonly agentPort: number;
}

export interface ClusterExplainOutput {
  readonly stdout: string;
  /** One line each: an agent not found, not reachable, or answering an error. */
  readonly notes: readonly string[];
}

interface AgentTarget {
  readonly url: string;
  /** How the output names it: the URL, and the pod when found in the cluster. */
  readonly label: string;
}

export async function explainClusterOutput(snapshot: Snapshot, args: readonly string[], options: ClusterExplainOptions): Promise<ClusterExplainOutput> {
  const explanation = explainArguments(snapshot, args, options);
  const notes: string[] = [];
  const targets: AgentTarget[] = [];
  if (options.agent !== undefined) {
    targets.push({ url: options.agent, label: options.agent });
  } else {
    for (const node of nodesOf(explanation)) {
      const location = findAgent(snapshot, node, options.agentPort);
      if (location.found) targets.push({ url: location.url, label: `${location.url}, pod ${location.pod}` });
      else notes.push(`no node view: ${location.reason}`);
    }
  }
  const query = agentQuery(explanation, args);
  const answers: { target: AgentTarget; answer: AgentExplanation }[] = [];
  const asked = await Promise.allSettled(targets.map((target) => askAgent(target.url, query)));
  asked.forEach((result, i) => {
    const target = targets[i]!;
    if (result.status === 'fulfilled') answers.push({ target, answer: result.value });
    else if (result.reason instanceof AgentRequestError) notes.push(`no node view: ${result.reason.message}`);
    else throw result.reason;
  });

  if (options.output === 'json') {
    // The agent's own answer: the explanation as it sees the cluster, with its node's view; one per node asked.
    const json = answers.length === 0 ? explanation : answers.length === 1 ? answers[0]!.answer : answers.map((a) => a.answer);
    return { stdout: JSON.stringify(json, null, 2), notes };
  }
  const sections = [renderExplanation(explanation)];
  for (const { target, answer } of answers) {
    const view = renderNodeView(answer, target.label);
    const disagreement = disagreementOf(explanation, answer);
    sections.push(disagreement === undefined ? view : `${view}\n  ${disagreement}`);
  }
  return { stdout: sections.join('\n\n'), notes };
}

/** The nodes of the pods the explanation is about, hostNetwork pods aside (no chains of theirs exist). */
function nodesOf(explanation: PodExplanation | ConnectionExplanation): string[] {
  if (explanation.kind === 'pod') return explanation.nodeName !== undefined && !explanation.hostNetwork ? [explanation.nodeName] : [];
  const nodes = [explanation.from, explanation.to].flatMap((end) => (end.kind === 'pod' && end.nodeName !== undefined && !end.hostNetwork ? [end.nodeName] : []));
  return [...new Set(nodes)];
}

/**
 * The same question for the agent, with names it resolves as this command did: pods by namespace/name (an IP when
 * one was given, so the address family is the same), the port by number.
 */
function agentQuery(explanation: PodExplanation | ConnectionExplanation, args: readonly string[]): AgentQuery {
  if (explanation.kind === 'pod') return { kind: 'pod', pod: explanation.pod };
  const reference = (end: EndpointExplanation, given: string | undefined) => (given !== undefined && ipaddr.isValid(given) ? end.ip : end.name);
  return {
    kind: 'connection',
    from: reference(explanation.from, args[0]),
    to: reference(explanation.to, args[1]),
    port: String(explanation.port),
    protocol: explanation.protocol,
  };
}

/** Where the agent's verdict is not the one just computed from the API: its view lags, or the API moved on. */
function disagreementOf(explanation: PodExplanation | ConnectionExplanation, answer: AgentExplanation): string | undefined {
  if (explanation.kind === 'connection' && answer.kind === 'connection') {
    if (explanation.allowed === answer.allowed) return undefined;
    return `the agent's verdict is ${answer.allowed ? 'ALLOWED' : 'DENIED'}, not the cluster's: its view of the cluster is older or newer than this one`;
  }
  if (explanation.kind === 'pod' && answer.kind === 'pod') {
    const differ = (['ingress', 'egress'] as const).filter((d) => explanation[d].isolated !== answer[d].isolated);
    if (differ.length === 0) return undefined;
    return `the agent's view differs on ${differ.join(' and ')} isolation: its view of the cluster is older or newer than this one`;
  }
  return 'the agent explained something else than was asked';
}
