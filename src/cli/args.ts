import ipaddr from 'ipaddr.js';
import { PROTOCOLS, type Protocol } from '../model/types.js';
import { canonicalIP } from '../snapshot/snapshot.js';
import type { Probe } from '../policy/index.js';

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
