import { ipFamily } from '../model/addresses.js';
import { compareText } from '../model/text-order.js';
import type { Pod, Protocol } from '../model/types.js';
import { podKey } from '../model/types.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { Endpoint } from './endpoint.js';

/*
 * How whole-cluster questions (simulate's matrix, a pod's reachability in explain) form pod-to-pod connections:
 * which pods in what order, at which addresses, on which ports.
 */

export interface Probe {
  readonly port: number;
  readonly protocol: Protocol;
}

export function compareProbes(a: Probe, b: Probe): number {
  return compareText(a.protocol, b.protocol) || a.port - b.port;
}

/** The ports a pod declares on its containers, each once, in probe order. */
export function declaredProbes(pod: Pod): Probe[] {
  const seen = new Map<string, Probe>();
  for (const p of pod.ports) seen.set(`${p.containerPort}/${p.protocol}`, { port: p.containerPort, protocol: p.protocol });
  return [...seen.values()].sort(compareProbes);
}

export function sortedPods(snapshot: Snapshot): Pod[] {
  return [...snapshot.pods].sort((a, b) => compareText(podKey(a), podKey(b)));
}

// Every pod pair asks for addresses by family: parse each pod's IPs once, not once per pair.
const addressesByFamily = new WeakMap<Pod, Readonly<Partial<Record<4 | 6, string>>>>();

/** A pod's first address of each family. */
export function firstAddresses(pod: Pod): Readonly<Partial<Record<4 | 6, string>>> {
  let byFamily = addressesByFamily.get(pod);
  if (!byFamily) {
    const found: Partial<Record<4 | 6, string>> = {};
    for (const ip of pod.ips) found[ipFamily(ip)] ??= ip;
    byFamily = found;
    addressesByFamily.set(pod, byFamily);
  }
  return byFamily;
}

/** The addresses a connection between two pods uses: the first family both have, IPv4 first. */
export function podAddresses(from: Pod, to: Pod): { fromIP: string; toIP: string } | undefined {
  for (const family of [4, 6] as const) {
    const fromIP = firstAddresses(from)[family];
    const toIP = firstAddresses(to)[family];
    if (fromIP && toIP) return { fromIP, toIP };
  }
  return undefined;
}

export function podEndpoint(pod: Pod, ip: string): Endpoint {
  return { kind: 'pod', pod, ip };
}
