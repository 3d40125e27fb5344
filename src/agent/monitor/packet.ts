// The addresses, protocol and destination port of an IP packet's first bytes: what a flow record says of it.
import ipaddr from 'ipaddr.js';
import type { Protocol } from '../../model/types.js';

export interface PacketFlow {
  readonly family: 4 | 6;
  readonly source: string;
  readonly destination: string;
  readonly protocol: Protocol;
  readonly destinationPort: number;
}

/** Why a packet gives no flow: not TCP, UDP or SCTP (ICMP), a later fragment, or too short to say. */
export type PacketSkip = { readonly skip: 'other-protocol' | 'fragment' | 'malformed'; readonly detail: string };

const PROTOCOLS: Readonly<Record<number, Protocol>> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

// IPv6 extension headers a packet may carry before its transport header, and how to find their length.
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTHENTICATION = 51;
const DESTINATION_OPTIONS = 60;

export function packetFlow(packet: Buffer): PacketFlow | PacketSkip {
  const version = packet.length > 0 ? packet[0]! >> 4 : undefined;
  if (version === 4) return ipv4Flow(packet);
  if (version === 6) return ipv6Flow(packet);
  return { skip: 'malformed', detail: `IP version ${version ?? 'missing'}` };
}

function ipv4Flow(packet: Buffer): PacketFlow | PacketSkip {
  const headerLength = (packet[0]! & 0x0f) * 4;
  if (headerLength < 20 || packet.length < headerLength) return { skip: 'malformed', detail: `IPv4 header of ${headerLength} bytes in ${packet.length}` };
  const fragmentOffset = packet.readUInt16BE(6) & 0x1fff;
  const source = ipaddr.fromByteArray([...packet.subarray(12, 16)]).toString();
  const destination = ipaddr.fromByteArray([...packet.subarray(16, 20)]).toString();
  return transport(4, source, destination, packet[9]!, fragmentOffset !== 0, packet, headerLength);
}

function ipv6Flow(packet: Buffer): PacketFlow | PacketSkip {
  if (packet.length < 40) return { skip: 'malformed', detail: `IPv6 packet of ${packet.length} bytes` };
  const source = ipaddr.fromByteArray([...packet.subarray(8, 24)]).toString();
  const destination = ipaddr.fromByteArray([...packet.subarray(24, 40)]).toString();
  let next = packet[6]!;
  let offset = 40;
  let laterFragment = false;
  for (;;) {
    if (next !== HOP_BY_HOP && next !== ROUTING && next !== FRAGMENT && next !== AUTHENTICATION && next !== DESTINATION_OPTIONS) break;
    if (packet.length < offset + 8) return { skip: 'malformed', detail: `IPv6 extension header ${next} cut at byte ${packet.length}` };
    const following = packet[offset]!;
    if (next === FRAGMENT) {
      laterFragment = (packet.readUInt16BE(offset + 2) & 0xfff8) !== 0;
      offset += 8;
    } else {
      offset += next === AUTHENTICATION ? (packet[offset + 1]! + 2) * 4 : (packet[offset + 1]! + 1) * 8;
    }
    next = following;
  }
  return transport(6, source, destination, next, laterFragment, packet, offset);
}

function transport(
  family: 4 | 6,
  source: string,
  destination: string,
  protocolNumber: number,
  laterFragment: boolean,
  packet: Buffer,
  offset: number,
): PacketFlow | PacketSkip {
  const protocol = PROTOCOLS[protocolNumber];
  if (protocol === undefined) return { skip: 'other-protocol', detail: `IP protocol ${protocolNumber} from ${source} to ${destination}` };
  if (laterFragment) return { skip: 'fragment', detail: `a later fragment of ${protocol} from ${source} to ${destination}` };
  // Source and destination ports are the first 4 bytes of TCP, UDP and SCTP headers alike.
  if (packet.length < offset + 4) return { skip: 'malformed', detail: `${protocol} header cut at byte ${packet.length}` };
  const destinationPort = packet.readUInt16BE(offset + 2);
  if (destinationPort === 0) return { skip: 'malformed', detail: `${protocol} to port 0 from ${source} to ${destination}` };
  return { family, source, destination, protocol, destinationPort };
}
