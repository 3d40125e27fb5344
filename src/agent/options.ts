// `bulkhead agent` options, their defaults, and the checks that reject a bad command line before anything runs.
import type { Logger } from 'pino';
import { DEFAULT_CNI_RESULTS_DIR } from '../node/cni-cache.js';

export interface AgentOptions {
  /** This node's name (spec.nodeName of its pods): only these pods get chains. */
  readonly nodeName: string;
  /** Directory of manifests standing for the cluster until the watch layer exists. */
  readonly manifestsDir: string;
  /** libcni's result cache: which veth is whose. Default /var/lib/cni/results. */
  readonly cniResultsDir?: string;
  /** Quiet time after a change before syncing. Default 100. */
  readonly debounceMs?: number;
  /** Bound on how long a stream of changes can postpone a sync. Default 1000. */
  readonly maxDelayMs?: number;
  /** Periodic rescan, for what file watching misses (editors' renames, network filesystems). Default 5000. */
  readonly rescanIntervalMs?: number;
  /** Default: $BULKHEAD_NFT, else `nft` on PATH. */
  readonly nftPath?: string;
  /** Default: pino, JSON lines on stdout. */
  readonly logger?: Logger;
}

export interface ResolvedAgentOptions {
  readonly nodeName: string;
  readonly manifestsDir: string;
  readonly cniResultsDir: string;
  readonly debounceMs: number;
  readonly maxDelayMs: number;
  readonly rescanIntervalMs: number;
  readonly nftPath?: string;
}

export const AGENT_DEFAULTS = {
  cniResultsDir: DEFAULT_CNI_RESULTS_DIR,
  debounceMs: 100,
  maxDelayMs: 1_000,
  rescanIntervalMs: 5_000,
} as const;

/** Options with defaults filled in, or the list of what is wrong with them (each naming its option). */
export function resolveAgentOptions(options: AgentOptions): { options?: ResolvedAgentOptions; errors: string[] } {
  const errors: string[] = [];
  if (options.nodeName.trim() === '') errors.push('--node-name: must not be empty');
  if (options.manifestsDir.trim() === '') errors.push('--manifests: must not be empty');
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
  if (errors.length > 0) return { errors };
  return {
    options: {
      nodeName: options.nodeName,
      manifestsDir: options.manifestsDir,
      cniResultsDir: options.cniResultsDir ?? AGENT_DEFAULTS.cniResultsDir,
      debounceMs,
      maxDelayMs,
      rescanIntervalMs,
      ...(options.nftPath === undefined ? {} : { nftPath: options.nftPath }),
    },
    errors,
  };
}
