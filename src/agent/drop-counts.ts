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

/** What the kernel's named counters say: each pod's drops, and the unknown-local-pods guard's when it is on. */
export interface KernelCounters {
  readonly drops: readonly DropCount[];
  readonly unknownLocalPods?: { readonly packets: number; readonly bytes: number };
}

export function kernelCountersOf(plan: Plan, readings: readonly CounterReading[]): KernelCounters {
  const guard = plan.unknownLocalPodsCounter === undefined ? undefined : readings.find((r) => r.name === plan.unknownLocalPodsCounter);
  return { drops: dropCountsOf(plan, readings), ...(guard ? { unknownLocalPods: { packets: guard.packets, bytes: guard.bytes } } : {}) };
}
