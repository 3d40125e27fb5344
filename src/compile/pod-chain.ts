import { type Direction, type NetworkPolicy, type Peer, type Pod, type Rule, policyKey } from '../model/types.js';
import { type EnforcementMode, ipBlockRanges, resolvePolicyPort, rulesOf } from '../policy/index.js';
import { auditCounterName, dropCounterName, podChainName, ruleComment } from './names.js';
import { type Statement, accept, address, dport, drop, l4proto, match, setRef } from './nft-json.js';
import type { ChainPlan, RulePlan } from './plan.js';
import { portAlternatives } from './port-match.js';
import type { CompileProblem } from './problems.js';
import type { NamedPort, NamedPortTarget, SetCatalog } from './set-catalog.js';

/**
 * The nflog group of denied packets, which the agent's verdict stream (`bulkhead monitor`) reads: 8421, a number
 * no other tool we know of uses (`nft ... log group 0` is the common default).
 */
export const DENIED_LOG_GROUP = 8421;

/**
 * Pod chains see only packets of new connections (the base chains accept established and related ones first),
 * and each pod chain's rule has its own bucket: one pod flooding denied connections cannot hide another pod's
 * drops, and user space gets at most 10 records a second (20 at once) per pod and direction.
 */
export const DENIED_LOG_LIMIT = { rate: 10, per: 'second', burst: 20 } as const;

/**
 * Each record to user space at once. The kernel's default (a batch of up to 100, or whatever a second brings)
 * delays records by up to a second, and a reader's buffer smaller than a batch (libpcap's is the snapshot
 * length) loses the rest of it: measured, 12 records of the 41 a 4 s flood earned.
 */
export const DENIED_LOG_QUEUE_THRESHOLD = 1;

export interface PodChain {
  readonly chain: ChainPlan;
  readonly problems: readonly CompileProblem[];
}

/**
 * The chain a local pod's packets jump to for one direction: an accept per way a rule of an isolating policy
 * admits them (policies by name, rules in order, each commented `ns/policy direction[i]`), then a rate-limited
 * log of the denied packet (prefix: the drop counter's name), then the pod's drop counter and drop. Peers appear
 * only as set references, so other pods coming and going never change it.
 */
export function podChain(
  catalog: SetCatalog,
  pod: Pod,
  direction: Direction,
  policies: readonly NetworkPolicy[],
  /** `audit`: the policies are audit-mode ones, and what they would deny is logged, counted and let through. */
  mode: EnforcementMode,
): PodChain {
  const rules: RulePlan[] = [];
  const problems: CompileProblem[] = [];
  for (const policy of [...policies].sort((a, b) => (policyKey(a) < policyKey(b) ? -1 : 1))) {
    rulesOf(policy, direction).forEach((rule, index) => {
      const compiled = compileRule(catalog, pod, direction, policy, rule, index);
      if (compiled.kind === 'problems') {
        problems.push(...compiled.problems);
        return;
      }
      const comment = ruleComment(`${policyKey(policy)} ${direction}[${index}]`);
      for (const expr of compiled.alternatives) rules.push({ expr, comment });
    });
  }
  const counter = mode === 'enforce' ? dropCounterName(pod, direction) : auditCounterName(pod, direction);
  rules.push({ expr: [{ limit: DENIED_LOG_LIMIT }, { log: { prefix: counter, group: DENIED_LOG_GROUP, 'queue-threshold': DENIED_LOG_QUEUE_THRESHOLD } }] });
  // An audit chain's last rule has no verdict: the packet returns to the chain that jumped here and goes on
  // exactly as one its policies allow.
  rules.push({ expr: mode === 'enforce' ? [{ counter }, drop] : [{ counter }] });
  return { chain: { name: podChainName(pod, direction), rules }, problems };
}

type CompiledRule =
  | { readonly kind: 'statements'; readonly alternatives: readonly Statement[][] }
  | { readonly kind: 'problems'; readonly problems: readonly CompileProblem[] };


function compileRule(
  catalog: SetCatalog,
  pod: Pod,
  direction: Direction,
  policy: NetworkPolicy,
  rule: Rule,
  index: number,
): CompiledRule {
  const targets: NamedPortTarget[] = [];
  const problems: CompileProblem[] = [];
  if (rule.peers.length === 0) targets.push({ kind: 'any' });
  rule.peers.forEach((peer, peerIndex) => {
    if (peer.kind === 'pods') {
      targets.push({ kind: 'pods', policy, peer });
      return;
    }
    try {
      targets.push({ kind: 'ipBlock', block: peer.ipBlock, ranges: ipBlockRanges(peer.ipBlock) });
    } catch (error) {
      problems.push({
        kind: 'inexpressible',
        object: `NetworkPolicy ${policyKey(policy)}`,
        field: `spec.${direction}[${index}].${direction === 'ingress' ? 'from' : 'to'}[${peerIndex}].ipBlock`,
        message: `cannot turn the ipBlock into address ranges (${(error as Error).message}); the rule allows nothing`,
      });
    }
  });
  if (problems.length > 0) return { kind: 'problems', problems };

  const side = direction === 'ingress' ? 'saddr' : 'daddr';
  const addressAlternatives = targets.flatMap((target) => addressMatches(catalog, target, side));
  if (direction === 'ingress') {
    // The destination is this pod: its own container ports give named ports their numbers.
    const ports = rule.ports.length === 0 ? 'every-port' : rule.ports.map((p) => resolvePolicyPort(p, pod));
    return { kind: 'statements', alternatives: crossWithAccept(addressAlternatives, portAlternatives(ports)) };
  }

  // Egress: numbers and whole protocols mean the same for every destination; named ports mean what each
  // destination pod declares, so they become (address . protocol . port) sets per target.
  const numbered = rule.ports.filter((p) => typeof p.port !== 'string');
  const named: NamedPort[] = rule.ports.flatMap((p) => (typeof p.port === 'string' ? [{ name: p.port, protocol: p.protocol }] : []));
  const ports = rule.ports.length === 0 ? 'every-port' : numbered.map((p) => resolvePolicyPort(p, undefined));
  const alternatives = crossWithAccept(addressAlternatives, portAlternatives(ports));
  if (named.length > 0) {
    for (const target of targets) {
      for (const set of catalog.namedPorts(target, named)) {
        alternatives.push([match({ concat: [address(set.family, 'daddr'), l4proto, dport] }, setRef(set.name)), accept]);
      }
    }
  }
  return { kind: 'statements', alternatives };
}

function addressMatches(catalog: SetCatalog, target: NamedPortTarget, side: 'saddr' | 'daddr'): Statement[][] {
  switch (target.kind) {
    case 'any':
      return [[]];
    case 'pods':
      return catalog.podPeer(target.policy, target.peer).map((set) => [match(address(set.family, side), setRef(set.name))]);
    case 'ipBlock': {
      const family = target.ranges[0]?.family;
      // Every address excepted: the peer matches nothing.
      if (family === undefined) return [];
      return [[match(address(family, side), setRef(catalog.addressRanges(target.ranges, family)))]];
    }
    default: {
      const unreachable: never = target;
      return unreachable;
    }
  }
}

function crossWithAccept(addresses: readonly Statement[][], ports: readonly Statement[][]): Statement[][] {
  return addresses.flatMap((a) => ports.map((p) => [...a, ...p, accept]));
}
