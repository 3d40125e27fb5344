// `bulkhead advise`: NetworkPolicies proposed from recorded flows. Reads the objects (-f or --cluster) and the flow
// records (--flows, or else the agents' flow stores: --agent, or every agent of the cluster), hands them to
// src/advise, prints the proposal; what to know before applying it goes to stderr.
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import {
  checkProposal,
  newestRecordTime,
  observedFlows,
  parseDuration,
  propose,
  proposalNotes,
  readFlowLines,
  renderJson,
  renderYaml,
} from '../advise/index.js';
import { type FlowSource, clusterAgents, flowsOfAgents } from './agent-flows.js';
import { AGENT_PORT } from './agent-discovery.js';
import { UsageError } from './args.js';
import { parsePortNumber } from './invocation.js';
import { formatValidationError } from './manifests.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { type SourceFlags, loadObjects, readsCluster } from './sources.js';

const collect = (value: string, previous: string[]) => [...previous, value];

interface AdviseFlags extends SourceFlags {
  flows?: string;
  agent: string[];
  agentPort: number;
  since?: string;
  output: 'yaml' | 'json';
}

export function addAdviseCommand(program: Command): void {
  program
    .command('advise')
    .description('propose NetworkPolicies for a namespace from its observed allowed flows: a default deny plus what keeps each flow working')
    .requiredOption('-n, --namespace <ns>', 'the namespace to propose policies for (also the namespace of objects that name none)')
    .option('--flows <file>', 'flow records, one JSON object a line (as the verdict stream writes them); default: the flow stores of the cluster\'s agents (bulkhead agent --monitor-allowed)')
    .option('--agent <url>', 'without --flows: read the flows of this agent only (repeatable), instead of every agent of the cluster', collect, [])
    .option('--agent-port <port>', 'without --flows and --agent: the port of the agents found on the nodes', parsePortNumber, AGENT_PORT)
    .option('-f, --filename <path>', 'manifest file or directory of the cluster\'s objects (repeatable), YAML or JSON', collect, [])
    .addOption(new Option('--cluster', 'read the live cluster (pods, namespaces, NetworkPolicies) instead of manifests').conflicts('filename'))
    .option('--kubeconfig <path>', 'with --cluster: the kubeconfig (default $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'with --cluster: the kubeconfig context (default its current one)')
    .option('--pod-cidr <cidr>', 'where pods without status.podIPs get addresses (repeatable; default 10.244.0.0/16 and fd00:10:244::/48)', collect, [])
    .option('--since <duration>', 'only records this recent, counted back from the newest record (from agents: flows last seen this recently) (e.g. 90s, 30m, 1h, 7d)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (flags: AdviseFlags) => {
      const since = flags.since === undefined ? undefined : parseSince(flags.since);
      if (flags.flows !== undefined && flags.agent.length > 0) throw new UsageError('--flows and --agent both say where the flows come from: give one');
      const fromFile = flags.flows === undefined ? undefined : readFlows(flags.flows);
      const { snapshot, errors, origin } = await loadObjects(flags);
      for (const error of errors) process.stderr.write(`${formatValidationError(error)}\n`);
      if (!snapshot.namespaces.has(flags.namespace)) {
        throw new UsageError(`namespace ${flags.namespace}: neither a Namespace nor any object of it is in ${origin}`);
      }
      let records = fromFile;
      if (records === undefined) {
        const sources = flowSources(flags, snapshot);
        records = await flowsOfAgents(sources, { namespace: flags.namespace, ...(flags.since === undefined ? {} : { since: flags.since }) });
        process.stderr.write(`read ${records.length} flow record${records.length === 1 ? '' : 's'} of namespace ${flags.namespace} from ${sources.length} agent${sources.length === 1 ? '' : 's'}\n`);
      }
      const newest = newestRecordTime(records);
      const observed = observedFlows(snapshot, records, {
        namespace: flags.namespace,
        ...(since !== undefined && newest !== undefined ? { since: newest - since } : {}),
      });
      const proposal = propose(flags.namespace, observed.flows);
      for (const note of proposalNotes(snapshot, observed, proposal, checkProposal(snapshot, proposal))) {
        process.stderr.write(`warning: ${note}\n`);
      }
      process.stdout.write(flags.output === 'json' ? `${renderJson(proposal)}\n` : renderYaml(proposal));
    });
}

/** The agents asked with --agent, or else every agent of the cluster the objects were read from. */
function flowSources(flags: AdviseFlags, snapshot: Snapshot): FlowSource[] {
  if (flags.agent.length > 0) return flags.agent.map((url) => ({ url, name: url }));
  if (!readsCluster(flags)) {
    throw new UsageError('without --flows, the flows come from the agents: give --agent URL, read the cluster (--cluster, or no -f) to find them, or give --flows FILE');
  }
  return clusterAgents(snapshot, flags.agentPort);
}

function parseSince(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`invalid --since '${text}': expected a duration such as 90s, 30m, 1h30m or 7d`);
  return ms;
}

function readFlows(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --flows ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const reading = readFlowLines(text);
  if (!reading.ok) {
    throw new UsageError(`${path}:${reading.line}: ${reading.field === '' ? '' : `${reading.field}: `}${reading.message}`);
  }
  return reading.records;
}
