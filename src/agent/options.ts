// `bulkhead agent` options, their defaults, and the checks that reject a bad command line before anything runs.
import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import type { ClusterConnection, WatchTiming } from '../kube/index.js';
import type { MonitorAllowedOption } from '../compile/index.js';
import { DEFAULT_CNI_RESULTS_DIR } from '../node/cni-cache.js';
import type { MonitorOptions } from './monitor/index.js';

/** Where the agent learns the cluster's namespaces, pods and NetworkPolicies. */
export type AgentSource =
  /** Manifest files in a directory tree, reloaded on change (a cluster without an API server: tests, the lab). */
  | { readonly kind: 'manifests'; readonly directory: string }
  /** The Kubernetes API: list, then watch. `timing` overrides DEFAULT_WATCH_TIMING (tests shorten it). */
  | { readonly kind: 'cluster'; readonly connection: ClusterConnection; readonly timing?: Partial<WatchTiming> };

/** The agent's HTTP endpoint (/healthz, /readyz, /metrics, /explain), served beside the agent by runAgent. */
export interface AgentHttpOptions {
  readonly address: string;
  readonly port: number;
  /** False: /explain answers 404 (it discloses the cluster's pods and policies to whoever reaches the port). */
  readonly explain: boolean;
}

export interface AgentOptions {
  /** This node's name (spec.nodeName of its pods): only these pods get chains. */
  readonly nodeName: string;
  readonly source: AgentSource;
  /** libcni's result cache: which veth is whose. Default /var/lib/cni/results. */
  readonly cniResultsDir?: string;
  /** Quiet time after a change before syncing. Default 100. */
  readonly debounceMs?: number;
  /** Bound on how long a stream of changes can postpone a sync. Default 1000. */
  readonly maxDelayMs?: number;
  /** Periodic rescan, for what file watching misses (editors' renames, network filesystems). Default 5000. */
  readonly rescanIntervalMs?: number;
  /**
   * Fail closed for pods the agent does not know yet: forwarded traffic from or to an address of these CIDRs
   * (this node's pod ranges) that no known local pod holds is dropped. Unset: such traffic passes.
   */
  readonly unknownLocalPods?: { readonly podCidrs: readonly string[] };
  /**
   * Log new connections that passed every chain, at most this many a second for the node, to the allowed nflog
   * group (`--monitor-allowed`); the verdict stream reads them when `monitor.allowed` asks. Unset: no such log.
   */
  readonly monitorAllowed?: MonitorAllowedOption;
  readonly http?: AgentHttpOptions;
  /** The verdict stream (denied packets read from nflog through tcpdump, /monitor), run by runAgent. Unset: none. */
  readonly monitor?: MonitorOptions;
  /** Longest time between two checks that the kernel still holds the applied rules. Default 30 000. */
  readonly driftCheckIntervalMs?: number;
  /** Default: $BULKHEAD_NFT, else `nft` on PATH. */
  readonly nftPath?: string;
  /** Default: pino, JSON lines on stdout. */
  readonly logger?: Logger;
}

export interface ResolvedAgentOptions {
  readonly nodeName: string;
  readonly source: AgentSource;
  readonly cniResultsDir: string;
  readonly debounceMs: number;
  readonly maxDelayMs: number;
  readonly rescanIntervalMs: number;
  readonly unknownLocalPods?: { readonly podCidrs: readonly string[] };
  readonly monitorAllowed?: MonitorAllowedOption;
  readonly http?: AgentHttpOptions;
  readonly nftPath?: string;
}

export const AGENT_DEFAULTS = {
  cniResultsDir: DEFAULT_CNI_RESULTS_DIR,
  debounceMs: 100,
  maxDelayMs: 1_000,
  rescanIntervalMs: 5_000,
  httpAddress: '0.0.0.0',
  httpPort: 9650,
} as const;

/** Options with defaults filled in, or the list of what is wrong with them (each naming its option). */
export function resolveAgentOptions(options: AgentOptions): { options?: ResolvedAgentOptions; errors: string[] } {
  const errors: string[] = [];
  if (options.nodeName.trim() === '') errors.push('--node-name: must not be empty');
  errors.push(...sourceErrors(options.source));
  const debounceMs = options.debounceMs ?? AGENT_DEFAULTS.debounceMs;
  const maxDelayMs = options.maxDelayMs ?? Math.max(AGENT_DEFAULTS.maxDelayMs, debounceMs);
  const rescanIntervalMs = options.rescanIntervalMs ?? AGENT_DEFAULTS.rescanIntervalMs;
  const wholeNonNegative = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 0) errors.push(`${name}: must be a whole number of milliseconds, not ${value}`);
  };
  wholeNonNegative('--debounce-ms', debounceMs);
  wholeNonNegative('maxDelayMs', maxDelayMs);
  wholeNonNegative('rescanIntervalMs', rescanIntervalMs);
  if (maxDelayMs < debounceMs) errors.push(`maxDelayMs: must not be shorter than --debounce-ms (${maxDelayMs} < ${debounceMs})`);
  if (rescanIntervalMs === 0) errors.push('rescanIntervalMs: must be positive');
  if (options.unknownLocalPods) {
    if (options.unknownLocalPods.podCidrs.length === 0) errors.push('--pod-cidr: --unknown-local-pods drop needs at least one pod CIDR of this node');
    for (const cidr of options.unknownLocalPods.podCidrs) {
      if (!ipaddr.isValidCIDR(cidr)) errors.push(`--pod-cidr: "${cidr}" is not a CIDR (10.244.1.0/24, fd00:10:244:1::/64)`);
    }
  }
  if (options.monitorAllowed) {
    const rate = options.monitorAllowed.ratePerSecond;
    if (!Number.isInteger(rate) || rate < 1) errors.push(`--monitor-allowed: expected a rate such as 10/second, not ${rate} a second`);
  }
  if (options.http) {
    if (!ipaddr.isValid(options.http.address)) errors.push(`--http-address: "${options.http.address}" is not an IP address`);
    if (!Number.isInteger(options.http.port) || options.http.port < 0 || options.http.port > 65_535) {
      errors.push(`--http-port: must be a port number (0-65535), not ${options.http.port}`);
    }
  }
  if (errors.length > 0) return { errors };
  return {
    options: {
      nodeName: options.nodeName,
      source: options.source,
      cniResultsDir: options.cniResultsDir ?? AGENT_DEFAULTS.cniResultsDir,
      debounceMs,
      maxDelayMs,
      rescanIntervalMs,
      ...(options.unknownLocalPods === undefined ? {} : { unknownLocalPods: options.unknownLocalPods }),
      ...(options.monitorAllowed === undefined ? {} : { monitorAllowed: options.monitorAllowed }),
      ...(options.http === undefined ? {} : { http: options.http }),
      ...(options.nftPath === undefined ? {} : { nftPath: options.nftPath }),
    },
    errors,
  };
}

function sourceErrors(source: AgentSource): string[] {
  switch (source.kind) {
    case 'manifests':
      return source.directory.trim() === '' ? ['--manifests: must not be empty'] : [];
    case 'cluster':
      return source.connection.kind === 'kubeconfig' && source.connection.paths.some((path) => path.trim() === '') ? ['--kubeconfig: must not be empty'] : [];
    default: {
      const unreachable: never = source;
      return [`unknown source ${JSON.stringify(unreachable)}`];
    }
  }
}
