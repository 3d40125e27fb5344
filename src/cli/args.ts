import ipaddr from 'ipaddr.js';
import { PROTOCOLS, type Pod, type Protocol } from '../model/types.js';
import { type Endpoint, ipFamily } from '../policy/index.js';
import { canonicalIP, type Snapshot } from '../snapshot/snapshot.js';
import type { Probe } from './simulate.js';

/** A mistake in how the command was called: reported as one line, exit code 2. */
export class UsageError extends Error {}

/** `80/TCP`, `53/udp`, `80` (TCP). */
export function parseProbe(text: string): Probe {
  const match = /^(\d+)(?:\/([A-Za-z]+))?$/.exec(text.trim());
  const protocol = (match?.[2] ?? 'TCP').toUpperCase();
  const port = Number(match?.[1]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`invalid port '${text}': expected PORT/PROTO with PORT 1-65535, e.g. 80/TCP`);
  }
  if (!PROTOCOLS.includes(protocol as Protocol)) {
    throw new UsageError(`invalid protocol in '${text}': expected TCP, UDP or SCTP`);
  }
  return { port, protocol: protocol as Protocol };
}

export function parseIP(text: string): string {
  if (!ipaddr.isValid(text)) throw new UsageError(`invalid IP address '${text}'`);
  return canonicalIP(text);
}

/** `ns/name`, a bare pod name in the default namespace, or an IP (a pod's IP names that pod). */
export function resolveEndpoint(snapshot: Snapshot, text: string, defaultNamespace: string): Endpoint {
  if (ipaddr.isValid(text)) {
    const ip = parseIP(text);
    const pod = snapshot.podByIP(ip);
    return pod ? { kind: 'pod', pod, ip } : { kind: 'external', ip };
  }
  return { kind: 'pod', pod: findPod(snapshot, text, defaultNamespace), ip: '' };
}

export function findPod(snapshot: Snapshot, text: string, defaultNamespace: string): Pod {
  const key = text.includes('/') ? text : `${defaultNamespace}/${text}`;
  const pod = snapshot.pod(key);
  if (!pod) throw new UsageError(`no pod ${key} in the given manifests (expected NAMESPACE/NAME or an IP)`);
  return pod;
}

/**
 * Gives pod endpoints named without an IP the address the connection would use: the family of the other side
 * when it is fixed by an IP, else the first family both pods have.
 */
export function addressEndpoints(from: Endpoint, to: Endpoint): { from: Endpoint; to: Endpoint } {
  const fixed = [from, to].find((e) => e.ip !== '');
  const families = fixed ? [ipFamily(fixed.ip)] : ([4, 6] as const);
  for (const family of families) {
    const a = withFamily(from, family);
    const b = withFamily(to, family);
    if (a && b) return { from: a, to: b };
  }
  throw new UsageError('the two endpoints have no IP family in common');
}

function withFamily(endpoint: Endpoint, family: 4 | 6): Endpoint | undefined {
  if (endpoint.ip !== '') return ipFamily(endpoint.ip) === family ? endpoint : undefined;
  if (endpoint.kind !== 'pod') return undefined;
  const ip = endpoint.pod.ips.find((a) => ipFamily(a) === family);
  return ip ? { ...endpoint, ip } : undefined;
}
