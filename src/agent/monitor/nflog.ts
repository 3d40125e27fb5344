// One NFLOG record (pcap link type 239, https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html): a 4-byte header
// (address family, version, group in network order) then type-length-value attributes, each 4-byte aligned, whose
// length and type are in the capturing host's byte order (little-endian here: the agent reads its own capture).

export const LINKTYPE_NFLOG = 239;

const NFULA_TIMESTAMP = 3;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;
const AF_INET = 2;
const AF_INET6 = 10;

export interface NflogRecord {
  readonly family: 4 | 6;
  readonly group: number;
  /** The rule's `log prefix`, empty when it has none. */
  readonly prefix: string;
  /** The packet from its network header on (as much as the snapshot length kept). */
  readonly payload: Buffer;
  /** When the kernel logged it (ms since the epoch), if it said. */
  readonly timeMs?: number;
}

/** The record, or why it is not one Bulkhead can use. */
export function parseNflog(data: Buffer): NflogRecord | { readonly error: string } {
  if (data.length < 4) return { error: `NFLOG record of ${data.length} bytes, shorter than its header` };
  const family = data[0] === AF_INET ? 4 : data[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return { error: `NFLOG record of address family ${data[0]}, neither IPv4 nor IPv6` };
  const group = data.readUInt16BE(2);
  let prefix = '';
  let payload: Buffer | undefined;
  let timeMs: number | undefined;
  let offset = 4;
  while (offset + 4 <= data.length) {
    const length = data.readUInt16LE(offset);
    // The top bits of the type are netlink flags (nested, byte order), not part of the type.
    const type = data.readUInt16LE(offset + 2) & 0x3fff;
    if (length < 4) return { error: `NFLOG attribute of type ${type} at byte ${offset} has length ${length}` };
    if (offset + length > data.length) {
      // The capture's snapshot length cut the record: the packet, last, keeps the headers that matter.
      if (type === NFULA_PAYLOAD) payload = data.subarray(offset + 4);
      else return { error: `NFLOG attribute of type ${type} at byte ${offset} has length ${length}, past the record's ${data.length} bytes` };
      break;
    }
    const value = data.subarray(offset + 4, offset + length);
    if (type === NFULA_PREFIX) {
      const end = value.indexOf(0);
      prefix = value.subarray(0, end === -1 ? value.length : end).toString('latin1');
    } else if (type === NFULA_PAYLOAD) {
      payload = value;
    } else if (type === NFULA_TIMESTAMP && value.length >= 16) {
      // Seconds and microseconds, 64 bits each in network order.
      timeMs = Number(value.readBigUInt64BE(0)) * 1000 + Number(value.readBigUInt64BE(8)) / 1000;
    }
    offset += (length + 3) & ~3;
  }
  if (!payload) return { error: 'NFLOG record without a packet (NFULA_PAYLOAD)' };
  return { family, group, prefix, payload, ...(timeMs === undefined ? {} : { timeMs }) };
}
