import ipaddr from 'ipaddr.js';
import type { Direction, Pod } from '../model/types.js';
import { type AddressRange, ipBlockRanges } from '../policy/index.js';
import { type Statement, address, drop, match, setRef } from './nft-json.js';
import { type RulePlan, type SetPlan, setPlan } from './plan.js';
import { addressType, addressesOf } from './set-catalog.js';

/** The named counter of what the guard drops, both directions together; no pod counter has this name. */
export const UNKNOWN_LOCAL_PODS_COUNTER = 'unknown_local_pods';

export interface UnknownLocalPodsOption {
  /** This node's pod CIDRs (Flannel's FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET): host bits are ignored. */
  readonly podCidrs: readonly string[];
}

export interface UnknownLocalPodsGuard {
  /** `local_cidrs4/6` (intervals) and `local_pods4/6` (the addresses allowed inside them), both families always. */
  readonly sets: readonly SetPlan[];
  /** The drop rules of a base chain, placed before dispatch: from (egress) or to (ingress) an unknown address. */
  rules(direction: Direction): RulePlan[];
}

const FAMILIES = [4, 6] as const;

/**
 * An address of this node's pod CIDRs that no known pod of this node holds is a pod the agent does not know
 * (created before its object reached the watch, or left behind): its traffic would pass as if no policy
 * selected it, so it is dropped. Known local pods pass on to dispatch as before, isolated or not. The bridge
 * gateway (the CIDR's first host address, cni0's) is the node itself and is let through.
 */
export function unknownLocalPodsGuard(option: UnknownLocalPodsOption, localPods: readonly Pod[]): UnknownLocalPodsGuard {
  const cidrs = FAMILIES.map((family) => ({ family, ranges: [] as AddressRange[], known: [] as string[] }));
  for (const cidr of option.podCidrs) {
    let ranges: AddressRange[];
    try {
      ranges = ipBlockRanges({ cidr, except: [] });
    } catch (error) {
      throw new Error(`pod CIDR "${cidr}" is not a CIDR: ${(error as Error).message}`);
    }
    const [range] = ranges;
    if (range === undefined) continue;
    const entry = cidrs[range.family === 4 ? 0 : 1]!;
    const overlapping = entry.ranges.find((r) => overlaps(r, range));
    if (overlapping) throw new Error(`pod CIDRs ${cidr} and ${overlapping.first}/${overlapping.prefixLength} overlap`);
    entry.ranges.push(range);
    entry.known.push(gatewayOf(range.first));
  }
  for (const entry of cidrs) {
    for (const pod of localPods) entry.known.push(...addressesOf(pod, entry.family));
  }

  const sets = cidrs.flatMap(({ family, ranges, known }) => [
    setPlan(
      { name: cidrSetName(family), type: addressType(family), interval: true },
      [...ranges].sort((a, b) => compareAddresses(a.first, b.first)).map((r) => ({ prefix: { addr: r.first, len: r.prefixLength! } })),
    ),
    setPlan({ name: knownSetName(family), type: addressType(family), interval: false }, known),
  ]);

  return {
    sets,
    rules: (direction) => {
      const side = direction === 'egress' ? 'saddr' : 'daddr';
      return cidrs
        .filter((entry) => entry.ranges.length > 0)
        .map(({ family }) => ({
          expr: [
            match(address(family, side), setRef(cidrSetName(family))),
            match(address(family, side), setRef(knownSetName(family)), '!='),
            { counter: UNKNOWN_LOCAL_PODS_COUNTER },
            drop,
          ] satisfies Statement[],
          comment: direction === 'egress' ? 'from a pod address of this node that no known pod holds' : 'to a pod address of this node that no known pod holds',
        }));
    },
  };
}

function cidrSetName(family: 4 | 6): string {
  return `local_cidrs${family}`;
}

function knownSetName(family: 4 | 6): string {
  return `local_pods${family}`;
}

/** The address after the network address: where Flannel's bridge (cni0) sits. */
function gatewayOf(network: string): string {
  const bytes = ipaddr.parse(network).toByteArray();
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = (bytes[i]! + 1) & 0xff;
    if (bytes[i] !== 0) break;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

function overlaps(a: { first: string; last: string }, b: { first: string; last: string }): boolean {
  return compareAddresses(a.first, b.last) <= 0 && compareAddresses(b.first, a.last) <= 0;
}

function compareAddresses(a: string, b: string): number {
  const x = ipaddr.parse(a).toByteArray();
  const y = ipaddr.parse(b).toByteArray();
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return 0;
}
