// Where the agent of a node answers: its DaemonSet pod on that node (namespace bulkhead-system, label
// app.kubernetes.io/name=bulkhead), at the pod's address (the node's own with hostNetwork) and port 9650.
import { ipFamily } from '../model/addresses.js';
import { podKey, type Pod } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';

export const AGENT_NAMESPACE = 'bulkhead-system';
export const AGENT_LABEL = { key: 'app.kubernetes.io/name', value: 'bulkhead' } as const;
export const AGENT_PORT = 9650;

export type AgentLocation =
  | { readonly found: true; readonly url: string; readonly pod: string }
  | { readonly found: false; readonly reason: string };

/** The agent serving `nodeName`, from the pods the snapshot holds (every namespace's, read with the rest). */
export function findAgent(snapshot: Snapshot, nodeName: string, port: number): AgentLocation {
  const agents = snapshot
    .podsInNamespace(AGENT_NAMESPACE)
    .filter((pod) => pod.labels[AGENT_LABEL.key] === AGENT_LABEL.value && pod.nodeName === nodeName)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A pod being replaced can leave two for a moment; the one with an address is the one that can answer.
  const agent = agents.find((pod) => pod.ips.length > 0);
  if (!agent) {
    const selector = `pods of ${AGENT_NAMESPACE} labelled ${AGENT_LABEL.key}=${AGENT_LABEL.value}`;
    return { found: false, reason: agents.length > 0 ? `the agent pod ${podKey(agents[0]!)} on node ${nodeName} has no address yet` : `no agent on node ${nodeName} (no ${selector} there)` };
  }
  return { found: true, url: agentUrl(agent, port), pod: podKey(agent) };
}

function agentUrl(agent: Pod, port: number): string {
  const ip = agent.ips[0]!;
  return `http://${ipFamily(ip) === 6 ? `[${ip}]` : ip}:${port}`;
}
