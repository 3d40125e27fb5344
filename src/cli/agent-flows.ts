// Flow records from the agents' flow stores (GET /flows, kept with `bulkhead agent --monitor-allowed`), for
// `bulkhead advise` without --flows: the agents named, or every agent the cluster runs (one a node).
import type { FlowRecord } from '../advise/flow-record.js';
import { readFlowLines } from '../advise/flow-record.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { AGENT_TIMEOUT_MS, AgentRequestError, agentUrl, fetchFailure } from './agent-client.js';
import { AGENT_LABEL, AGENT_NAMESPACE, findAgent } from './agent-discovery.js';

export interface FlowSource {
  readonly url: string;
  /** For messages: `node node1 (bulkhead-system/bulkhead-x)`, or the URL as given. */
  readonly name: string;
}

export interface AgentFlowsQuery {
  readonly namespace: string;
  /** As /flows takes it: a duration back from the agent's now (`1h`). */
  readonly since?: string;
}

/** Every node's agent, from the agent pods in the cluster's objects; throws when there is none, or one has no address. */
export function clusterAgents(snapshot: Snapshot, port: number): FlowSource[] {
  const nodes = new Set(
    snapshot
      .podsInNamespace(AGENT_NAMESPACE)
      .filter((pod) => pod.labels[AGENT_LABEL.key] === AGENT_LABEL.value && pod.nodeName !== undefined)
      .map((pod) => pod.nodeName!),
  );
  if (nodes.size === 0) {
    throw new AgentRequestError(`no agents in the cluster (no pods of ${AGENT_NAMESPACE} labelled ${AGENT_LABEL.key}=${AGENT_LABEL.value} on a node): give --agent URL or --flows FILE`);
  }
  return [...nodes].sort().map((node) => {
    const found = findAgent(snapshot, node, port);
    // Advising without a node's flows would propose policies that break that node's connections.
    if (!found.found) throw new AgentRequestError(`${found.reason}: its flows are needed for the proposal (or give --agent URL for each agent to read)`);
    return { url: found.url, name: `node ${node} (${found.pod})` };
  });
}

export function flowsUrl(agent: string, query: AgentFlowsQuery): URL {
  const url = agentUrl(agent, '/flows');
  url.searchParams.set('namespace', query.namespace);
  if (query.since !== undefined) url.searchParams.set('since', query.since);
  return url;
}

/** The flow records of one agent's store for the query. */
export async function agentFlows(source: FlowSource, query: AgentFlowsQuery, timeoutMs = AGENT_TIMEOUT_MS): Promise<FlowRecord[]> {
  const url = flowsUrl(source.url, query);
  const where = `the agent of ${source.name} at ${url.origin}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'application/x-ndjson' } });
    text = await response.text();
  } catch (error) {
    throw new AgentRequestError(`${where} cannot be reached: ${fetchFailure(error, timeoutMs)}`);
  }
  if (!response.ok) {
    let message = text.trim().slice(0, 200);
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? message;
    } catch {
      // Not JSON: the text as it came.
    }
    throw new AgentRequestError(`${where} answered ${response.status}: ${message}`);
  }
  const reading = readFlowLines(text);
  if (!reading.ok) throw new AgentRequestError(`${where} sent line ${reading.line}, which is no flow record (${reading.field || 'line'}: ${reading.message})`);
  return [...reading.records];
}

/** The records of every source, asked at once, in time order; the first agent that fails fails the whole. */
export async function flowsOfAgents(
  sources: readonly FlowSource[],
  query: AgentFlowsQuery,
  read: (source: FlowSource, query: AgentFlowsQuery) => Promise<FlowRecord[]> = agentFlows,
): Promise<FlowRecord[]> {
  const perAgent = await Promise.all(sources.map((source) => read(source, query)));
  return mergeFlowRecords(perAgent);
}

/**
 * One list from the agents' lists, oldest first. A connection between two nodes is in both nodes' stores
 * (egress on one, ingress on the other); the advisor counts each connection once whoever reported it.
 */
export function mergeFlowRecords(perAgent: readonly (readonly FlowRecord[])[]): FlowRecord[] {
  return perAgent.flat().sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}
