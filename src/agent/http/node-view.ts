// The node's side of an explanation: whether a local pod's chains are in the kernel, their rules as the kernel
// holds them, and what they dropped. Only this node knows these; the CLI's explanation has no `node`.
import { podChainName } from '../../compile/index.js';
import type { Direction, Pod } from '../../model/types.js';
import type { ChainReader, ChainReading } from './kernel-rules.js';
import type { ServedDropCount } from './served-agent.js';

type PerDirection<T> = { readonly [D in Direction]: T };

export interface PodNodeView {
  /** Whether the kernel holds the pod's chain for the direction (there is one only when the pod is isolated). */
  readonly rulesInKernel: PerDirection<boolean>;
  /** The chain's rules as `nft list chain` prints them; empty without a chain. */
  readonly kernelRules: PerDirection<readonly string[]>;
  /** What the chain's drop counter counted since the chain was created. */
  readonly drops: PerDirection<{ readonly packets: number; readonly bytes: number }>;
}

/** Thrown when the kernel cannot be read: the request fails (500) rather than report chains as missing. */
export class KernelReadError extends Error {}

export async function podNodeView(pod: Pod, readChain: ChainReader, drops: readonly ServedDropCount[]): Promise<PodNodeView> {
  const [ingress, egress] = await Promise.all([readChain(podChainName(pod, 'ingress')), readChain(podChainName(pod, 'egress'))]);
  const present = (reading: ChainReading): boolean => {
    if (reading.kind === 'error') throw new KernelReadError(reading.message);
    return reading.kind === 'present';
  };
  const rules = (reading: ChainReading): readonly string[] => (reading.kind === 'present' ? reading.rules : []);
  const dropped = (direction: Direction) => {
    const count = drops.find((d) => d.namespace === pod.namespace && d.pod === pod.name && d.direction === direction);
    return { packets: count?.packets ?? 0, bytes: count?.bytes ?? 0 };
  };
  return {
    rulesInKernel: { ingress: present(ingress), egress: present(egress) },
    kernelRules: { ingress: rules(ingress), egress: rules(egress) },
    drops: { ingress: dropped('ingress'), egress: dropped('egress') },
  };
}
