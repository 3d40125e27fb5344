import { Command, CommanderError, Option } from 'commander';
import { UsageError, parseIP, parseProbe } from './args.js';
import { explainCommandOutput } from './explain.js';
import { formatValidationError } from './manifests.js';
import { ClusterAccessError } from './cluster.js';
import { type SourceFlags, loadObjects, readsCluster } from './sources.js';
import { renderJson, renderTable, simulate } from './simulate.js';
import { CHECK_IDS, type CheckId, lint } from '../policy/lint/index.js';
import { DEFAULT_NAMESPACE } from '../model/index.js';
import { renderLint } from './lint.js';
import { addAgentCommand } from './agent-command.js';
import { addAgentExplainCommand } from './agent-explain.js';
import { AgentRequestError } from './agent-client.js';
import { AGENT_PORT } from './agent-discovery.js';
import { explainClusterOutput } from './explain-cluster.js';
import { parsePortNumber, programName } from './invocation.js';
import { addAdviseCommand } from './advise.js';
import { addMonitorCommand } from './monitor.js';

const collect = (value: string, previous: string[]) => [...previous, value];

function manifestOptions(command: Command): Command {
  return command
    .option('-f, --filename <path>', 'manifest file or directory (repeatable), YAML or JSON', collect, [])
    .addOption(new Option('--cluster', 'read the live cluster (pods, namespaces, NetworkPolicies): the default without -f').conflicts('filename'))
    .option('--kubeconfig <path>', 'reading the cluster: the kubeconfig (default $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'reading the cluster: the kubeconfig context (default its current one)')
    .option('-n, --namespace <ns>', 'namespace of objects and pod names that name none (default: the kubeconfig context\'s when reading the cluster, else default)')
    .option('--pod-cidr <cidr>', 'where pods without status.podIPs get addresses (repeatable; default 10.244.0.0/16 and fd00:10:244::/48)', collect, []);
}

/** -n has no default of its own: reading the cluster, kubectl's is the context's namespace. */
type CommonFlags = Omit<SourceFlags, 'namespace'> & { namespace?: string };

async function loadReporting(flags: CommonFlags) {
  const loaded = await loadObjects({ ...flags, namespace: flags.namespace ?? DEFAULT_NAMESPACE });
  for (const error of loaded.errors) process.stderr.write(`${formatValidationError(error)}\n`);
  return loaded;
}

export function buildProgram(name = 'bulkhead'): Command {
  const program = new Command(name)
    .description('Kubernetes NetworkPolicy enforcer: simulate, explain and lint policies; enforce them with nftables')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text.split('\n')[0] + '\n') });

  manifestOptions(program.command('simulate'))
    .description('print the reachability matrix of every pod pair (and external IPs) for each probe')
    .option('--probe <port/proto>', 'probe this port on every destination (repeatable); default: each destination\'s declared ports', collect, [])
    .option('--to-ip <ip>', 'also probe this external address from every pod (repeatable; needs --probe)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (flags: CommonFlags & { probe: string[]; toIp: string[]; output: 'table' | 'json' }) => {
      const probes = flags.probe.map(parseProbe);
      const externalIPs = flags.toIp.map(parseIP);
      if (externalIPs.length > 0 && probes.length === 0) {
        throw new UsageError('--to-ip needs at least one --probe: external hosts declare no ports');
      }
      const { snapshot } = await loadReporting(flags);
      const results = simulate(snapshot, { probes, externalIPs });
      process.stdout.write(`${flags.output === 'json' ? renderJson(results) : renderTable(results)}\n`);
    });

  manifestOptions(program.command('explain'))
    .description('explain why a connection is allowed or denied (FROM TO PORT/PROTO), or what applies to a pod (pod NS/NAME)')
    .argument('<args...>', 'FROM TO PORT/PROTO (ns/pod or IP), or: pod NS/NAME')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--agent <url>', "reading the cluster: ask this agent's /explain for its node's view (default: the agent on each pod's node)")
    .option('--agent-port <port>', 'reading the cluster: the port of the agents found on the nodes', parsePortNumber, AGENT_PORT)
    .action(async (args: string[], flags: CommonFlags & { output: 'text' | 'json'; agent?: string; agentPort: number }) => {
      const live = readsCluster(flags);
      if (!live && flags.agent !== undefined) throw new UsageError('--agent adds the node\'s view of the live cluster: it does not go with -f');
      const { snapshot, origin, contextNamespace } = await loadReporting(flags);
      const defaultNamespace = flags.namespace ?? contextNamespace ?? DEFAULT_NAMESPACE;
      const options = { defaultNamespace, where: `in ${origin}`, output: flags.output };
      if (live) {
        const { stdout, notes } = await explainClusterOutput(snapshot, args, { ...options, agentPort: flags.agentPort, ...(flags.agent === undefined ? {} : { agent: flags.agent }) });
        for (const note of notes) process.stderr.write(`bulkhead: ${note}\n`);
        process.stdout.write(`${stdout}\n`);
        return;
      }
      process.stdout.write(`${explainCommandOutput(snapshot, args, options)}\n`);
    });

  manifestOptions(program.command('lint'))
    .description('warn about the classic NetworkPolicy mistakes; exits 1 when there is any warning')
    .option('--disable <check>', `skip a check (repeatable): ${CHECK_IDS.join(', ')}`, collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (flags: CommonFlags & { disable: string[]; output: 'text' | 'json' }) => {
      const unknown = flags.disable.filter((id) => !(CHECK_IDS as readonly string[]).includes(id));
      if (unknown.length > 0) throw new UsageError(`unknown check '${unknown[0]}': expected one of ${CHECK_IDS.join(', ')}`);
      const { snapshot, errors } = await loadObjects({ ...flags, namespace: flags.namespace ?? DEFAULT_NAMESPACE });
      // Invalid policies are lint warnings (invalid-policy); other load errors are reported as errors.
      const otherErrors = errors.filter((e) => !e.object.startsWith('NetworkPolicy '));
      for (const error of otherErrors) process.stderr.write(`${formatValidationError(error)}\n`);
      const warnings = lint(snapshot, { disable: flags.disable as CheckId[] });
      process.stdout.write(flags.output === 'json' ? `${JSON.stringify({ warnings }, null, 2)}\n` : renderLint(warnings));
      if (warnings.length > 0 || otherErrors.length > 0) process.exitCode = 1;
    });

  addAgentExplainCommand(addAgentCommand(program));
  addAdviseCommand(program);
  addMonitorCommand(program);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram(programName(argv[1])).parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError || error instanceof ClusterAccessError || error instanceof AgentRequestError) {
      process.stderr.write(`bulkhead: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`bulkhead: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

