import type { PolicyPort, Pod, Protocol } from '../model/types.js';

/** A concrete port range a policy port means for one destination: inclusive, one protocol. */
export interface PortRange {
  readonly protocol: Protocol;
  readonly first: number;
  readonly last: number;
}

export type PortResolution =
  | { readonly kind: 'range'; readonly range: PortRange }
  /** `port` absent: every port of the protocol. */
  | { readonly kind: 'all-ports'; readonly protocol: Protocol }
  /** A named port the destination does not declare (or an external destination): matches nothing. */
  | { readonly kind: 'unresolved'; readonly name: string; readonly protocol: Protocol };

/**
 * What a policy port means for a destination. Named ports resolve against the destination pod's container ports
 * (name and protocol must both match), so one rule can mean different numbers on different pods.
 */
export function resolvePolicyPort(policyPort: PolicyPort, destination: Pod | undefined): PortResolution {
  const { protocol, port } = policyPort;
  if (port === undefined) return { kind: 'all-ports', protocol };
  if (typeof port === 'number') {
    return { kind: 'range', range: { protocol, first: port, last: policyPort.endPort ?? port } };
  }
  const number = namedPortNumber(destination, port, protocol);
  if (number === undefined) return { kind: 'unresolved', name: port, protocol };
  return { kind: 'range', range: { protocol, first: number, last: number } };
}

/** The container port a destination declares under this name and protocol (both must match). */
export function namedPortNumber(destination: Pod | undefined, name: string, protocol: Protocol): number | undefined {
  return destination?.ports.find((p) => p.name === name && p.protocol === protocol)?.containerPort;
}

/** portResolutionMatches(resolvePolicyPort(...)) without allocating: the verdict's hot path. */
export function policyPortAdmits(policyPort: PolicyPort, destination: Pod | undefined, port: number, protocol: Protocol): boolean {
  if (policyPort.protocol !== protocol) return false;
  const given = policyPort.port;
  if (given === undefined) return true;
  if (typeof given === 'number') return port >= given && port <= (policyPort.endPort ?? given);
  return namedPortNumber(destination, given, protocol) === port;
}

export function portResolutionMatches(resolution: PortResolution, port: number, protocol: Protocol): boolean {
  switch (resolution.kind) {
    case 'all-ports':
      return resolution.protocol === protocol;
    case 'range':
      return resolution.range.protocol === protocol && port >= resolution.range.first && port <= resolution.range.last;
    case 'unresolved':
      return false;
    default: {
      const unreachable: never = resolution;
      return unreachable;
    }
  }
}

/**
 * Index of the first `ports` entry that admits (port, protocol) on this destination; `null` when the list is empty
 * (every port); `-1` when none does.
 */
export function matchingPortIndex(
  ports: readonly PolicyPort[],
  destination: Pod | undefined,
  port: number,
  protocol: Protocol,
): number | null {
  if (ports.length === 0) return null;
  for (let i = 0; i < ports.length; i++) {
    if (policyPortAdmits(ports[i]!, destination, port, protocol)) return i;
  }
  return -1;
}
