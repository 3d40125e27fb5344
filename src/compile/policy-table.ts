import { DIRECTIONS, type Direction, type Pod, podKey } from '../model/types.js';
import { isolatingPolicies } from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { dropCounterName, podChainName } from './names.js';
import { type Expression, type SetElement, type Statement, accept, address, match, setRef } from './nft-json.js';
import { type ChainPlan, type CounterOwner, POLICY_TABLE, type SetPlan, type TablePlan, byName, setPlan } from './plan.js';
import { podChain } from './pod-chain.js';
import type { CompileProblem } from './problems.js';
import { addressType, addressesOf, createSetCatalog } from './set-catalog.js';
import { UNKNOWN_LOCAL_PODS_COUNTER, type UnknownLocalPodsGuard } from './unknown-local-pods.js';

// Both base chains sit on the forward hook, where bridged and routed pod traffic passes (br_netfilter).
// Egress runs first (lower number): an accept ends only its own base chain, so a packet must pass both, and a
// drop in either is final.
export const EGRESS_PRIORITY = 0;
export const INGRESS_PRIORITY = 1;

// Neighbour and router discovery are how IPv6 finds a pod at all; conntrack does not track them, so they would
// meet an isolated pod's drop. NetworkPolicy speaks of TCP, UDP and SCTP only, so letting them pass allows no
// connection (as ARP, which is not IP, passes for IPv4).
const NEIGHBOUR_DISCOVERY: Expression = { set: ['nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert'] };

const DISPATCH: Readonly<Record<Direction, { chain: string; side: 'saddr' | 'daddr'; map: (family: 4 | 6) => string; prio: number }>> = {
  egress: { chain: 'egress', side: 'saddr', map: (family) => `egress_pods${family}`, prio: EGRESS_PRIORITY },
  ingress: { chain: 'ingress', side: 'daddr', map: (family) => `ingress_pods${family}`, prio: INGRESS_PRIORITY },
};

export interface PolicyTable {
  readonly table: TablePlan;
  readonly counters: Readonly<Record<string, CounterOwner>>;
  readonly problems: readonly CompileProblem[];
}

/**
 * Table `inet bulkhead`: the two base chains, a verdict map per direction and family from a local isolated pod's
 * address to its chain, the pod chains with their drop counters, and the shared peer sets those chains use.
 */
export function policyTable(snapshot: Snapshot, localPods: readonly Pod[], guard?: UnknownLocalPodsGuard): PolicyTable {
  const catalog = createSetCatalog(snapshot);
  const chains: ChainPlan[] = [];
  const maps: SetPlan[] = [];
  const counters: Record<string, CounterOwner> = {};
  const problems: CompileProblem[] = [];

  for (const direction of DIRECTIONS) {
    const dispatch = DISPATCH[direction];
    const jumps: Record<4 | 6, SetElement[]> = { 4: [], 6: [] };
    const owners = new Map<string, Pod>();
    for (const pod of localPods) {
      const policies = isolatingPolicies(snapshot, pod, direction);
      if (policies.length === 0) continue;
      const compiled = podChain(catalog, pod, direction, policies);
      chains.push(compiled.chain);
      problems.push(...compiled.problems);
      counters[dropCounterName(pod, direction)] = { namespace: pod.namespace, pod: pod.name, direction };
      for (const family of [4, 6] as const) {
        for (const ip of addressesOf(pod, family)) {
          const owner = owners.get(ip);
          if (owner) {
            problems.push(sharedAddress(pod, owner, ip));
            continue;
          }
          owners.set(ip, pod);
          jumps[family].push([ip, { jump: { target: podChainName(pod, direction) } }]);
        }
      }
    }
    for (const family of [4, 6] as const) {
      maps.push(setPlan({ name: dispatch.map(family), type: addressType(family), map: 'verdict', interval: false }, jumps[family]));
    }
    chains.push({
      name: dispatch.chain,
      hook: { type: 'filter', hook: 'forward', prio: dispatch.prio, policy: 'accept' },
      rules: [
        { expr: [match({ ct: { key: 'state' } }, ['established', 'related'], 'in'), accept] },
        { expr: [match({ payload: { protocol: 'icmpv6', field: 'type' } }, NEIGHBOUR_DISCOVERY), accept] },
        ...(guard?.rules(direction) ?? []),
        ...([4, 6] as const).map((family) => ({ expr: [vmap(address(family, dispatch.side), dispatch.map(family))] })),
      ],
    });
  }

  const sortedCounters = Object.fromEntries(Object.entries(counters).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    table: {
      ...POLICY_TABLE,
      counters: [...Object.keys(sortedCounters), ...(guard ? [UNKNOWN_LOCAL_PODS_COUNTER] : [])].sort(),
      sets: [...maps, ...catalog.sets(), ...(guard?.sets ?? [])].sort(byName),
      chains: chains.sort(byName),
    },
    counters: sortedCounters,
    problems,
  };
}

function vmap(key: Expression, map: string): Statement {
  return { vmap: { key, data: setRef(map) } };
}

// Two local pods claiming one address (a stale object, a reused IP) cannot both own it in a verdict map; the
// first by name keeps it so the plan stays valid, and the clash is reported.
function sharedAddress(pod: Pod, owner: Pod, ip: string): CompileProblem {
  return {
    kind: 'inexpressible',
    object: `Pod ${podKey(pod)}`,
    field: 'status.podIPs',
    message: `address ${ip} is also held by local pod ${podKey(owner)}; its packets are dispatched to that pod's chain`,
  };
}
