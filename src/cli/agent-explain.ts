// `bulkhead agent explain`: asks the agent running on this node, through its endpoint, so that
// `kubectl exec -n bulkhead-system ds/bulkhead -- bulkhead agent explain pod prod/api-0` shows the node's own view:
// the verdict as the agent sees the cluster, the pod's chains in the kernel, its drop counters.
import { type Command, Option } from 'commander';
import { type AgentQuery, askAgent } from './agent-client.js';
import { AGENT_PORT } from './agent-discovery.js';
import { UsageError } from './args.js';
import { renderExplanation } from './explain.js';
import { renderNodeView } from './node-view.js';

export const LOCAL_AGENT = `http://127.0.0.1:${AGENT_PORT}`;

/** Adds `explain` under `agent` (the command addAgentCommand returns). */
export function addAgentExplainCommand(agent: Command): void {
  agent
    .command('explain')
    .description("ask this node's agent (its /explain endpoint) about a pod or a connection: the verdict, the pod's rules in the kernel, its drop counters")
    .argument('<args...>', 'pod NS/NAME, or FROM TO PORT/PROTO (ns/pod or IP; the port a number or a port name of the destination)')
    .option('--agent <url>', "the agent's endpoint", LOCAL_AGENT)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (args: string[], flags: { agent: string; output: 'text' | 'json' }) => {
      const answer = await askAgent(flags.agent, agentQueryOf(args));
      const output = flags.output === 'json' ? JSON.stringify(answer, null, 2) : `${renderExplanation(answer)}\n\n${renderNodeView(answer, flags.agent)}`;
      process.stdout.write(`${output}\n`);
    });
}

/** The arguments of `bulkhead explain`, as the agent's query: it resolves the names itself. */
function agentQueryOf(args: readonly string[]): AgentQuery {
  if (args[0] === 'pod') {
    if (args.length !== 2) throw new UsageError('usage: bulkhead agent explain pod NAMESPACE/NAME');
    return { kind: 'pod', pod: args[1]! };
  }
  if (args.length !== 3) throw new UsageError('usage: bulkhead agent explain FROM TO PORT/PROTO');
  return { kind: 'connection', from: args[0]!, to: args[1]!, port: args[2]! };
}
