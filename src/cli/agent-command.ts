// `bulkhead agent`: the per-node enforcer, as a command. Its own module so that the other commands never load
// the agent's dependencies (logger, nft runner, watch layer).
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { FLANNEL_SUBNET_ENV, podCidrsFromFlannelSubnetEnv } from '../agent/flannel-subnet.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../agent/log-options.js';
import type { AgentOptions } from '../agent/options.js';
import { type MonitorAllowedOption, parseMonitorRate } from '../compile/allowed-sample.js';
import { kubeconfigPaths } from '../kube/connection.js';
import { UsageError } from './args.js';

/** The flags as commander hands them over. */
export interface AgentFlags {
  readonly nodeName?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly manifests?: string;
  readonly cniResults: string;
  readonly debounceMs: number;
  readonly maxDelayMs: number;
  /** Seconds. */
  readonly driftCheckInterval?: number;
  readonly httpAddress: string;
  readonly httpPort: number;
  readonly explainEndpoint: boolean;
  readonly unknownLocalPods: 'allow' | 'drop';
  readonly podCidr: readonly string[];
  readonly logFormat: LogFormat;
  readonly logLevel: LogLevel;
  readonly monitor: boolean;
  /** `10/second`. */
  readonly monitorAllowed?: string;
  readonly monitorLogLevel: LogLevel;
}

/**
 * Adds `bulkhead agent` to `program` and returns it, for subcommands (`bulkhead agent explain`): those get
 * none of its options.
 */
export function addAgentCommand(program: Command): Command {
  return program
    .command('agent')
    .description('enforce the policies on this node with nftables, watching the Kubernetes API (or a manifests directory)')
    .option('--node-name <name>', 'this node\'s name: pods with this spec.nodeName are local (default: $NODE_NAME)')
    .option('--kubeconfig <path>', 'kubeconfig to reach the API server (default: $KUBECONFIG, else the in-cluster service account)')
    .option('--context <name>', 'kubeconfig context (default: its current context)')
    .option('--manifests <dir>', 'read the cluster from this directory of manifests instead of the API; reloaded on change')
    .option('--cni-results <dir>', 'libcni result cache: which host veth belongs to which pod', '/var/lib/cni/results')
    .option('--debounce-ms <ms>', 'quiet time before a sync, so a burst of changes is one transaction', toInteger, 100)
    .option('--max-delay-ms <ms>', 'longest a burst of changes can postpone a sync', toInteger, 1000)
    .option('--drift-check-interval <seconds>', 'longest time between two checks that the kernel still holds the applied rules (rebuilt in one transaction when not)', toPositiveSeconds, 30)
    .option('--http-address <ip>', 'address of the /healthz, /readyz, /metrics and /explain endpoint', '0.0.0.0')
    .option('--http-port <port>', 'port of that endpoint', toInteger, 9650)
    .option('--no-explain-endpoint', 'answer /explain with 404: it tells whoever reaches the port about pods and policies')
    .addOption(
      new Option('--unknown-local-pods <action>', 'forwarded traffic of addresses in this node\'s pod CIDRs that no known pod holds (a pod too new for the agent)')
        .choices(['allow', 'drop'])
        .default('allow'),
    )
    .option('--pod-cidr <cidr>', `this node's pod CIDR, for --unknown-local-pods drop (repeatable; default: FLANNEL_SUBNET and FLANNEL_IPV6_SUBNET of ${FLANNEL_SUBNET_ENV})`, collect, [])
    .addOption(new Option('--log-format <format>', 'log lines as JSON or readable text').choices(LOG_FORMATS).default('json'))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS).default('info'))
    .option('--no-monitor', 'do not read denied packets from nflog (tcpdump): no verdict stream, no /monitor')
    .option('--monitor-allowed <rate>', 'also log new connections the policies allow, at most RATE for the node (e.g. 10/second), into the verdict stream and the flow store (/flows) that `bulkhead advise` reads')
    .addOption(new Option('--monitor-log-level <level>', 'level of the log line of each verdict stream record').choices(LOG_LEVELS).default('debug'))
    .action(async (flags: AgentFlags) => {
      const options = agentOptionsFromFlags(flags, { NODE_NAME: process.env['NODE_NAME'], KUBECONFIG: process.env['KUBECONFIG'] }, readFlannelSubnetEnv);
      // Loaded on demand: the agent's dependencies (logger, nft runner, watch layer) are not needed by the other commands.
      const { runAgent } = await import('../agent/index.js');
      const { createAgentLogger } = await import('../agent/logger.js');
      const monitor = { logLevel: flags.monitorLogLevel, ...(options.monitorAllowed ? { allowed: {} } : {}) };
      await runAgent({ ...options, logger: createAgentLogger(flags.logFormat, flags.logLevel), ...(flags.monitor ? { monitor } : {}) });
    });
}

/**
 * The agent's options from its flags and environment; throws a UsageError naming the flag that is wrong.
 * `readFlannelSubnet` gives subnet.env's text, or undefined when there is none; it is read only for
 * `--unknown-local-pods drop` without `--pod-cidr`.
 */
export function agentOptionsFromFlags(
  flags: AgentFlags,
  env: { readonly NODE_NAME?: string | undefined; readonly KUBECONFIG?: string | undefined },
  readFlannelSubnet: () => string | undefined,
): Omit<AgentOptions, 'logger'> {
  const nodeName = flags.nodeName ?? env.NODE_NAME ?? '';
  if (nodeName.trim() === '') throw new UsageError('--node-name is required (or $NODE_NAME)');
  return {
    nodeName,
    source: agentSource(flags, env.KUBECONFIG),
    cniResultsDir: flags.cniResults,
    debounceMs: flags.debounceMs,
    maxDelayMs: flags.maxDelayMs,
    ...(flags.driftCheckInterval === undefined ? {} : { driftCheckIntervalMs: Math.round(flags.driftCheckInterval * 1000) }),
    http: { address: flags.httpAddress, port: flags.httpPort, explain: flags.explainEndpoint },
    ...(flags.unknownLocalPods === 'drop' ? { unknownLocalPods: { podCidrs: podCidrs(flags.podCidr, readFlannelSubnet) } } : {}),
    ...(flags.monitorAllowed === undefined ? {} : { monitorAllowed: monitorAllowed(flags.monitorAllowed, flags.monitor) }),
  };
}

function monitorAllowed(text: string, monitor: boolean): MonitorAllowedOption {
  // Without the verdict stream nothing reads the sample: the kernel would log for no one.
  if (!monitor) throw new UsageError('--monitor-allowed feeds the verdict stream: it cannot be combined with --no-monitor');
  const ratePerSecond = parseMonitorRate(text);
  if (ratePerSecond === undefined) throw new UsageError(`--monitor-allowed '${text}': expected a rate such as 10/second (1 to 1000000 a second)`);
  return { ratePerSecond };
}

function podCidrs(given: readonly string[], readFlannelSubnet: () => string | undefined): string[] {
  if (given.length > 0) return [...given];
  const text = readFlannelSubnet();
  if (text === undefined) throw new UsageError(`--unknown-local-pods drop needs this node's pod CIDRs: give --pod-cidr, or run where flannel wrote ${FLANNEL_SUBNET_ENV}`);
  let found: string[];
  try {
    found = podCidrsFromFlannelSubnetEnv(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (found.length === 0) throw new UsageError(`--unknown-local-pods drop: ${FLANNEL_SUBNET_ENV} has neither FLANNEL_SUBNET nor FLANNEL_IPV6_SUBNET; give --pod-cidr`);
  return found;
}

function agentSource(flags: AgentFlags, kubeconfigEnv: string | undefined): AgentOptions['source'] {
  if (flags.manifests !== undefined) {
    if (flags.kubeconfig !== undefined || flags.context !== undefined) {
      throw new UsageError('--manifests reads the cluster from files: it cannot be combined with --kubeconfig or --context');
    }
    return { kind: 'manifests', directory: flags.manifests };
  }
  const paths = flags.kubeconfig !== undefined ? [flags.kubeconfig] : kubeconfigPaths(kubeconfigEnv);
  if (paths.length === 0) {
    if (flags.context !== undefined) throw new UsageError('--context needs a kubeconfig: give --kubeconfig or set $KUBECONFIG');
    return { kind: 'cluster', connection: { kind: 'in-cluster' } };
  }
  return { kind: 'cluster', connection: { kind: 'kubeconfig', paths, ...(flags.context !== undefined ? { context: flags.context } : {}) } };
}

/** subnet.env's text, or undefined when flannel has not written one here. */
function readFlannelSubnetEnv(): string | undefined {
  try {
    return readFileSync(FLANNEL_SUBNET_ENV, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${FLANNEL_SUBNET_ENV}: ${(error as Error).message}`);
  }
}

function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

function toPositiveSeconds(value: string): number {
  const seconds = Number(value);
  // Under a millisecond would round to no interval at all.
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0.001) throw new UsageError(`expected a positive number of seconds, got '${value}'`);
  return seconds;
}

function toInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`expected a non-negative integer, got '${value}'`);
  return n;
}
