import { DIRECTIONS, type Direction, type NetworkPolicy, type Pod, podKey, policyKey } from '../model/types.js';
import { type EnforcementMode, auditingPolicies, isolatingPolicies } from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { auditCounterName, dropCounterName, podChainName } from './names.js';
import { type Expression, type SetElement, type Statement, accept, address, match, setRef } from './nft-json.js';
import { type AuditCounterOwner, type ChainPlan, type CounterOwner, POLICY_TABLE, type SetPlan, type TablePlan, byName, setPlan } from './plan.js';
import type { CachedSet } from './cached-set.js';
import { type PodChain, podChain } from './pod-chain.js';
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

/** A pod chain kept from an earlier compile: valid while the pod and its chain's policies are the same objects. */
interface CachedChain {
  readonly mode: EnforcementMode;
  readonly policies: readonly NetworkPolicy[];
  readonly compiled: PodChain;
  /** The shared sets its rules reference. */
  readonly sets: readonly string[];
}

/**
 * What one compile leaves for the next (compiler.ts): shared sets (patched by the caller for the pods that
 * changed) and pod chains. Both are keyed by what defines them, so a stale entry is never used, only unused.
 */
export interface PolicyTableMemo {
  readonly sets: Map<string, CachedSet>;
  readonly chains: WeakMap<Pod, Partial<Record<Direction, CachedChain>>>;
}

export function emptyPolicyTableMemo(): PolicyTableMemo {
  return { sets: new Map(), chains: new WeakMap() };
}

/** The policies of a pod's chain in a direction (chainPolicies, or a memo of it). */
export type Isolating = (pod: Pod, direction: Direction) => ChainPolicies;

/** No policies: the pod has no chain in that direction. */
export interface ChainPolicies {
  readonly mode: EnforcementMode;
  readonly policies: readonly NetworkPolicy[];
}

/**
 * The isolating (enforce-mode) policies of a pod in a direction; when there are none, the audit-mode policies that
 * would isolate it, whose chain lets everything pass and counts what they would deny.
 */
export function chainPolicies(snapshot: Snapshot, pod: Pod, direction: Direction): ChainPolicies {
  const enforced = isolatingPolicies(snapshot, pod, direction);
  return enforced.length > 0 ? { mode: 'enforce', policies: enforced } : { mode: 'audit', policies: auditingPolicies(snapshot, pod, direction) };
}

export interface PolicyTable {
  readonly table: TablePlan;
  readonly counters: Readonly<Record<string, CounterOwner>>;
  readonly auditCounters: Readonly<Record<string, AuditCounterOwner>>;
  readonly problems: readonly CompileProblem[];
}

/**
 * Table `inet bulkhead`: the two base chains, a verdict map per direction and family from a local isolated pod's
 * address to its chain, the pod chains with their drop counters, and the shared peer sets those chains use.
 */
export function policyTable(
  snapshot: Snapshot,
  localPods: readonly Pod[],
  isolating: Isolating,
  memo: PolicyTableMemo,
  guard?: UnknownLocalPodsGuard,
): PolicyTable {
  const catalog = createSetCatalog(snapshot, memo.sets);
  const referencedSets = new Set<string>();
  const chains: ChainPlan[] = [];
  const maps: SetPlan[] = [];
  const counters: Record<string, CounterOwner> = {};
  const auditCounters: Record<string, AuditCounterOwner> = {};
  const problems: CompileProblem[] = [];

  for (const direction of DIRECTIONS) {
    const dispatch = DISPATCH[direction];
    const jumps: Record<4 | 6, SetElement[]> = { 4: [], 6: [] };
    const owners = new Map<string, Pod>();
    for (const pod of localPods) {
      const { mode, policies } = isolating(pod, direction);
      if (policies.length === 0) continue;
      const kept = memo.chains.get(pod)?.[direction];
      let compiled: PodChain;
      if (kept && kept.mode === mode && sameObjects(kept.policies, policies) && kept.sets.every((name) => memo.sets.has(name))) {
        compiled = kept.compiled;
        kept.sets.forEach((name) => referencedSets.add(name));
      } else {
        compiled = podChain(catalog, pod, direction, policies, mode);
        const sets = setReferences(compiled.chain);
        sets.forEach((name) => referencedSets.add(name));
        memo.chains.set(pod, { ...memo.chains.get(pod), [direction]: { mode, policies, compiled, sets } });
      }
      chains.push(compiled.chain);
      problems.push(...compiled.problems);
      const owner = { namespace: pod.namespace, pod: pod.name, direction };
      if (mode === 'enforce') counters[dropCounterName(pod, direction)] = owner;
      else auditCounters[auditCounterName(pod, direction)] = { ...owner, policies: policies.map(policyKey).sort() };
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
  const sortedAuditCounters = Object.fromEntries(Object.entries(auditCounters).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    table: {
      ...POLICY_TABLE,
      counters: [...Object.keys(sortedCounters), ...Object.keys(sortedAuditCounters), ...(guard ? [UNKNOWN_LOCAL_PODS_COUNTER] : [])].sort(),
      sets: [...maps, ...sharedSets(memo.sets, referencedSets), ...(guard?.sets ?? [])].sort(byName),
      chains: chains.sort(byName),
    },
    counters: sortedCounters,
    auditCounters: sortedAuditCounters,
    problems,
  };
}

/** The sets in use, in the plan; the others leave the memo, so the next compile neither patches nor lists them. */
function sharedSets(cache: Map<string, CachedSet>, referenced: ReadonlySet<string>): SetPlan[] {
  for (const name of [...cache.keys()]) {
    if (!referenced.has(name)) cache.delete(name);
  }
  return [...referenced].map((name) => {
    const set = cache.get(name);
    if (!set) throw new Error(`compiler: chain references set ${name}, which was never built`);
    return set.plan;
  });
}

function setReferences(chain: ChainPlan): string[] {
  const names = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.startsWith('@')) names.add(value.slice(1));
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === 'object' && value !== null) {
      Object.values(value).forEach(visit);
    }
  };
  chain.rules.forEach((rule) => rule.expr.forEach(visit));
  return [...names];
}

export function sameObjects<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
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
