// Packets dropped per local pod and direction: the plan's named drop counters, as read from the kernel.
import type { Plan } from '../compile/index.js';
import type { CounterReading } from '../nft/index.js';

export interface DropCount {
  readonly namespace: string;
  readonly pod: string;
  readonly direction: 'ingress' | 'egress';
  readonly packets: number;
  readonly bytes: number;
}

/** The readings of the plan's drop counters, by owner; counters the plan does not know are not the agent's. */
export function dropCountsOf(plan: Plan, readings: readonly CounterReading[]): DropCount[] {
  return readings.flatMap((reading) => {
    const owner = plan.counters[reading.name];
    return owner ? [{ namespace: owner.namespace, pod: owner.pod, direction: owner.direction, packets: reading.packets, bytes: reading.bytes }] : [];
  });
}

/** What audit-mode policies would have dropped (it passed): a pod's audit counter, once per policy auditing it there. */
export interface AuditCount extends DropCount {
  /** `ns/name` of an audit-mode policy that isolates the pod in this direction. */
  readonly policy: string;
}

/** The readings of the plan's audit counters, attributed to each audit-mode policy that owns the counter. */
export function auditCountsOf(plan: Plan, readings: readonly CounterReading[]): AuditCount[] {
  const owners = plan.auditCounters ?? {};
  return readings.flatMap((reading) => {
    const owner = Object.hasOwn(owners, reading.name) ? owners[reading.name] : undefined;
    if (!owner) return [];
    const { namespace, pod, direction } = owner;
    return owner.policies.map((policy) => ({ namespace, pod, direction, policy, packets: reading.packets, bytes: reading.bytes }));
  });
}

/**
 * What the kernel's named counters say: each pod's drops, its audit counts when audit-mode policies alone isolate
 * it somewhere, and the unknown-local-pods guard's drops when it is on.
 */
export interface KernelCounters {
  readonly drops: readonly DropCount[];
  readonly audits?: readonly AuditCount[];
  readonly unknownLocalPods?: { readonly packets: number; readonly bytes: number };
}

export function kernelCountersOf(plan: Plan, readings: readonly CounterReading[]): KernelCounters {
  const guard = plan.unknownLocalPodsCounter === undefined ? undefined : readings.find((r) => r.name === plan.unknownLocalPodsCounter);
  return {
    drops: dropCountsOf(plan, readings),
    ...(plan.auditCounters === undefined ? {} : { audits: auditCountsOf(plan, readings) }),
    ...(guard ? { unknownLocalPods: { packets: guard.packets, bytes: guard.bytes } } : {}),
  };
}
