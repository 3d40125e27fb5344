// The sample of allowed connections (`bulkhead agent --monitor-allowed RATE`): one more base chain on the forward
// hook, after egress and ingress. A drop in either is final, so every packet this chain sees passed both: the
// first packet of each connection is logged, rate-limited, to a group of its own, for the advisor's flow store.
import { type Expression, match } from './nft-json.js';
import type { ChainPlan } from './plan.js';
import { INGRESS_PRIORITY } from './policy-table.js';

/** Next to the denied packets' 8421: a group of its own, so the two streams are read and limited apart. */
export const ALLOWED_LOG_GROUP = 8422;
export const ALLOWED_LOG_PREFIX = 'allowed';
export const ALLOWED_SAMPLE_CHAIN = 'allowed_sample';
export const ALLOWED_SAMPLE_PRIORITY = INGRESS_PRIORITY + 1;

export interface MonitorAllowedOption {
  /** New connections logged a second, at most, for the whole node (one token bucket: the kernel's). */
  readonly ratePerSecond: number;
}

// NetworkPolicy speaks of these protocols only; ICMP and the rest would spend the budget on nothing it can use.
const POLICY_PROTOCOLS: Expression = { set: ['tcp', 'udp', 'sctp'] };

/** Throws on a rate that is no whole positive number: the option is checked where the command line is read. */
export function allowedSampleChain(option: MonitorAllowedOption): ChainPlan {
  const rate = option.ratePerSecond;
  if (!Number.isInteger(rate) || rate < 1) throw new Error(`monitorAllowed.ratePerSecond: expected a whole number of at least 1, got ${rate}`);
  return {
    name: ALLOWED_SAMPLE_CHAIN,
    hook: { type: 'filter', hook: 'forward', prio: ALLOWED_SAMPLE_PRIORITY, policy: 'accept' },
    rules: [
      {
        // As `nft -j list` gives it back (ct state is a bit mask: op in), so the drift checker reads no difference.
        expr: [
          match({ ct: { key: 'state' } }, 'new', 'in'),
          match({ meta: { key: 'l4proto' } }, POLICY_PROTOCOLS),
          { limit: { rate, per: 'second', burst: 2 * rate } },
          { log: { prefix: ALLOWED_LOG_PREFIX, group: ALLOWED_LOG_GROUP, 'queue-threshold': 1 } },
        ],
      },
    ],
  };
}

/** `10/second` -> 10; undefined when the text is no such rate. */
export function parseMonitorRate(text: string): number | undefined {
  const found = /^\s*(\d+)\s*\/\s*(s|sec|second)\s*$/.exec(text);
  if (!found) return undefined;
  const rate = Number(found[1]);
  return rate >= 1 && rate <= 1_000_000 ? rate : undefined;
}
