// A logged packet, as nflog gave it, -> the contract's flow record. A denied (or audit) one: the pod and direction
// from the log prefix (the pod chain's drop counter, which the plan in force names), the other end from the
// snapshot of that plan, and the policies that isolate the pod there (src/policy). An allowed one (the sample of
// --monitor-allowed): both ends from the snapshot, egress when the source is a pod of this node, else ingress.
// Pure: the view and the time are arguments.
import type { FlowRecord } from '../../advise/flow-record.js';
import type { CounterOwner, Plan } from '../../compile/index.js';
import { podKey } from '../../model/types.js';
import { auditIsolation, isolation } from '../../policy/index.js';
import { canonicalIP, type Snapshot } from '../../snapshot/snapshot.js';
import type { NflogRecord } from './nflog.js';
import { packetFlow } from './packet.js';

export type SkipReason = 'malformed' | 'other-protocol' | 'fragment' | 'unknown-counter' | 'not-ready' | 'not-local';

export type Resolution =
  | { readonly kind: 'record'; readonly record: FlowRecord }
  | { readonly kind: 'skipped'; readonly reason: SkipReason; readonly detail: string };

/** What the kernel enforces: the plan it holds and the snapshot that plan was compiled from. */
export interface EnforcedView {
  readonly snapshot: Snapshot;
  readonly plan: Plan;
}

export interface ResolutionContext {
  /** Undefined before the agent's first plan. */
  readonly view: EnforcedView | undefined;
  readonly nodeName: string;
}

export function resolveDenied(logged: NflogRecord, timeMs: number, context: ResolutionContext): Resolution {
  const { view } = context;
  if (!view) return { kind: 'skipped', reason: 'not-ready', detail: 'no plan applied yet' };
  // Counter names are per pod and direction and stable across plans, so a packet logged just before a new plan
  // still resolves, unless its pod has left this node's plan since.
  const counted = countedBy(view.plan, logged.prefix);
  if (!counted) return { kind: 'skipped', reason: 'unknown-counter', detail: `log prefix "${logged.prefix}" is no drop or audit counter of the plan in force` };
  const { owner, verdict } = counted;
  const flow = packetFlow(logged.payload);
  if ('skip' in flow) return { kind: 'skipped', reason: flow.skip, detail: flow.detail };

  const ownerKey = podKey({ namespace: owner.namespace, name: owner.pod });
  const pod = view.snapshot.pod(ownerKey);
  const ownAddress = owner.direction === 'ingress' ? flow.destination : flow.source;
  // The pod chain saw the pod's own address on its side. Measured on kernel 6.18: nflog can hand over a small
  // IPv6 UDP packet whose bytes were overwritten by then; such a packet names another address, not a flow.
  if (pod && !pod.ips.some((ip) => canonicalIP(ip) === ownAddress)) {
    return { kind: 'skipped', reason: 'malformed', detail: `logged by ${owner.direction} chain of ${ownerKey}, but its address there is ${ownAddress}` };
  }
  const peerAddress = owner.direction === 'ingress' ? flow.source : flow.destination;
  const peer = view.snapshot.podByIP(peerAddress);
  const peerName = peer ? podKey(peer) : peerAddress;
  return {
    kind: 'record',
    record: {
      time: new Date(timeMs).toISOString(),
      node: context.nodeName,
      direction: owner.direction,
      from: owner.direction === 'ingress' ? peerName : ownerKey,
      to: owner.direction === 'ingress' ? ownerKey : peerName,
      port: flow.destinationPort,
      protocol: flow.protocol,
      verdict,
      // The policies that isolate the pod there, or for an audit chain the audit policies that would.
      policies: pod ? [...(verdict === 'dropped' ? isolation : auditIsolation)(view.snapshot, pod, owner.direction).keys] : [],
    },
  };
}

/**
 * A packet of the allowed sample: it passed every chain, so the connection was allowed. The pod of this node at
 * either end names the direction (a connection between two local pods is the egress of its client); a packet
 * between no pods of this node (forwarded for the host) is skipped as not-local.
 */
export function resolveAllowed(logged: NflogRecord, timeMs: number, context: ResolutionContext): Resolution {
  const { view } = context;
  if (!view) return { kind: 'skipped', reason: 'not-ready', detail: 'no plan applied yet' };
  const flow = packetFlow(logged.payload);
  if ('skip' in flow) return { kind: 'skipped', reason: flow.skip, detail: flow.detail };
  const { snapshot } = view;
  const local = (address: string) => {
    const pod = snapshot.podByIP(address);
    return pod && pod.nodeName === context.nodeName && !pod.hostNetwork ? pod : undefined;
  };
  const source = local(flow.source);
  const destination = source ? undefined : local(flow.destination);
  const owner = source ?? destination;
  if (!owner) return { kind: 'skipped', reason: 'not-local', detail: `neither ${flow.source} nor ${flow.destination} is a pod of node ${context.nodeName}` };
  const direction = source ? 'egress' : 'ingress';
  const name = (address: string) => {
    const pod = snapshot.podByIP(address);
    return pod ? podKey(pod) : address;
  };
  return {
    kind: 'record',
    record: {
      time: new Date(timeMs).toISOString(),
      node: context.nodeName,
      direction,
      from: name(flow.source),
      to: name(flow.destination),
      port: flow.destinationPort,
      protocol: flow.protocol,
      verdict: 'allowed',
      policies: [...isolation(snapshot, owner, direction).keys],
    },
  };
}

/** The pod and direction of a pod chain's log prefix: its drop counter (dropped), or its audit counter (passed, audit). */
function countedBy(plan: Plan, prefix: string): { owner: CounterOwner; verdict: 'dropped' | 'audit' } | undefined {
  if (Object.hasOwn(plan.counters, prefix)) return { owner: plan.counters[prefix]!, verdict: 'dropped' };
  const audits = plan.auditCounters;
  if (audits !== undefined && Object.hasOwn(audits, prefix)) return { owner: audits[prefix]!, verdict: 'audit' };
  return undefined;
}
