// The verdict stream's parsers on bytes the kernel really produced: test/fixtures/monitor/nflog-forward.pcap is
// `tcpdump -Z root -i nflog:8421 -U -w - -s 256 --immediate-mode -q` in a router namespace whose forward chain
// logs `limit rate 10/second burst 20 packets log prefix "drop_in_demo_web" group 8421` for 10.91.2.2 and
// fd91:2::2, while 10.91.1.2 / fd91:1::2 sent a TCP SYN to port 80, UDP to 53, a TCPv6 SYN to 443, UDPv6 to 5353
// (socat: the kernel handed that one over with overwritten bytes), SCTP INIT to 3868 and an ICMP echo.
// nflog-truncated.pcap holds UDPv6 datagrams of 3, 100 and 600 bytes captured with -s 256 (the last one lost).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINKTYPE_NFLOG, parseNflog, type NflogRecord } from '../../src/agent/monitor/nflog.js';
import { packetFlow } from '../../src/agent/monitor/packet.js';
import { PcapFormatError, pcapReader } from '../../src/agent/monitor/pcap-stream.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/monitor/${name}`, import.meta.url));
const forward = fixture('nflog-forward.pcap');

function nflogRecords(bytes: Buffer): NflogRecord[] {
  return pcapReader().push(bytes).map((record) => {
    const parsed = parseNflog(record.data);
    if ('error' in parsed) throw new Error(parsed.error);
    return parsed;
  });
}

describe('pcap stream', () => {
  it('reads the global header and every record of a capture, with its link type and time', () => {
    const records = pcapReader().push(forward);
    expect(records).toHaveLength(6);
    expect(records.every((r) => r.linkType === LINKTYPE_NFLOG)).toBe(true);
    expect(new Date(records[0]!.timeMs).toISOString()).toMatch(/^2026-11-23T23:12:52\.481/);
  });

  it('gives the same records whatever the chunks a pipe cuts the stream into', () => {
    const whole = pcapReader().push(forward);
    for (const size of [1, 7, 23, 24, 25, 100]) {
      const reader = pcapReader();
      const pieces = [];
      for (let at = 0; at < forward.length; at += size) pieces.push(...reader.push(forward.subarray(at, at + size)));
      expect(pieces, `chunks of ${size} bytes`).toEqual(whole);
      expect(reader.pending).toBe(0);
    }
  });

  it('holds an unfinished record back until its last byte arrives', () => {
    const reader = pcapReader();
    expect(reader.push(forward.subarray(0, 24 + 16 + 10))).toEqual([]);
    expect(reader.pending).toBe(26);
    expect(reader.push(forward.subarray(50))).toHaveLength(6);
  });

  it('reads big-endian streams too', () => {
    const header = Buffer.from(forward.subarray(0, 24));
    const big = Buffer.alloc(24 + 16 + 4);
    big.writeUInt32BE(0xa1b2c3d4, 0);
    big.writeUInt16BE(2, 4);
    big.writeUInt16BE(4, 6);
    big.writeUInt32BE(256, 16);
    big.writeUInt32BE(LINKTYPE_NFLOG, 20);
    big.writeUInt32BE(1_700_000_000, 24);
    big.writeUInt32BE(500_000, 28);
    big.writeUInt32BE(4, 32);
    big.writeUInt32BE(4, 36);
    expect(header.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcapReader().push(big)).toEqual([{ timeMs: 1_700_000_000_500, linkType: LINKTYPE_NFLOG, data: Buffer.alloc(4) }]);
  });

  it('rejects what is not pcap, and a record longer than any snapshot length', () => {
    expect(() => pcapReader().push(Buffer.from('{"not": "a capture", "but": "json"}'))).toThrow(PcapFormatError);
    const corrupt = Buffer.from(forward.subarray(0, 24 + 16));
    corrupt.writeUInt32LE(1_000_000, 24 + 8);
    expect(() => pcapReader().push(corrupt)).toThrow(/1000000 bytes, over the snapshot length 256/);
  });
});

describe('NFLOG records', () => {
  it('give the family, the group, the rule\'s prefix, the kernel\'s time and the packet', () => {
    const records = nflogRecords(forward);
    expect(records.map((r) => [r.family, r.group, r.prefix])).toEqual([
      [4, 8421, 'drop_in_demo_web'],
      [4, 8421, 'drop_in_demo_web'],
      [6, 8421, 'drop_in_demo_web'],
      [6, 8421, 'drop_in_demo_web'],
      [4, 8421, 'drop_in_demo_web'],
      [4, 8421, 'drop_in_demo_web'],
    ]);
    // The kernel's own time, not when tcpdump got the batch it came in.
    expect(new Date(records[3]!.timeMs!).toISOString()).toBe('2026-11-23T23:12:53.571Z');
    expect(pcapReader().push(forward)[3]!.timeMs).toBeGreaterThan(records[3]!.timeMs! + 300);
    expect(records[0]!.payload[0]! >> 4).toBe(4);
    expect(records[2]!.payload[0]! >> 4).toBe(6);
  });

  it('keep the head of a packet the snapshot length cut, and refuse what is not NFLOG', () => {
    const truncated = pcapReader().push(fixture('nflog-truncated.pcap'));
    expect(truncated.map((r) => r.data.length)).toEqual([180, 276]);
    const whole = parseNflog(truncated[1]!.data);
    if ('error' in whole) throw new Error(whole.error);
    expect(whole.payload.length).toBe(40 + 8 + 100);
    // Cut inside the packet, as a smaller snapshot length would.
    const cut = parseNflog(truncated[1]!.data.subarray(0, 276 - 60));
    if ('error' in cut) throw new Error(cut.error);
    expect(cut.payload.length).toBe(148 - 60);
    expect(packetFlow(cut.payload)).toEqual({ family: 6, source: 'fd91:1::2', destination: 'fd91:2::2', protocol: 'UDP', destinationPort: 5353 });

    expect(parseNflog(Buffer.from([2, 0]))).toEqual({ error: 'NFLOG record of 2 bytes, shorter than its header' });
    expect(parseNflog(Buffer.from([7, 0, 0x20, 0xe5]))).toEqual({ error: 'NFLOG record of address family 7, neither IPv4 nor IPv6' });
    expect(parseNflog(Buffer.from([2, 0, 0x20, 0xe5]))).toEqual({ error: 'NFLOG record without a packet (NFULA_PAYLOAD)' });
    expect(parseNflog(Buffer.from([2, 0, 0x20, 0xe5, 2, 0, 10, 0]))).toEqual({ error: 'NFLOG attribute of type 10 at byte 4 has length 2' });
  });
});

describe('packets', () => {
  it('give addresses, protocol and destination port of TCP, UDP and SCTP, over IPv4 and IPv6', () => {
    const flows = nflogRecords(forward).map((r) => packetFlow(r.payload));
    expect(flows[0]).toEqual({ family: 4, source: '10.91.1.2', destination: '10.91.2.2', protocol: 'TCP', destinationPort: 80 });
    expect(flows[1]).toEqual({ family: 4, source: '10.91.1.2', destination: '10.91.2.2', protocol: 'UDP', destinationPort: 53 });
    expect(flows[2]).toEqual({ family: 6, source: 'fd91:1::2', destination: 'fd91:2::2', protocol: 'TCP', destinationPort: 443 });
    expect(flows[4]).toEqual({ family: 4, source: '10.91.1.2', destination: '10.91.2.2', protocol: 'SCTP', destinationPort: 3868 });
    expect(flows[5]).toEqual({ skip: 'other-protocol', detail: 'IP protocol 1 from 10.91.1.2 to 10.91.2.2' });
  });

  it('skip later fragments and packets too short to say, and walk IPv6 extension headers', () => {
    const [, udp] = nflogRecords(forward);
    const fragment = Buffer.from(udp!.payload);
    fragment.writeUInt16BE(0x0010, 6);
    expect(packetFlow(fragment)).toMatchObject({ skip: 'fragment' });
    expect(packetFlow(udp!.payload.subarray(0, 21))).toEqual({ skip: 'malformed', detail: 'UDP header cut at byte 21' });
    expect(packetFlow(Buffer.from([0x50]))).toEqual({ skip: 'malformed', detail: 'IP version 5' });

    const tcp6 = nflogRecords(forward)[2]!.payload;
    // The same SYN behind a hop-by-hop header (8 bytes of padding options).
    const withHopByHop = Buffer.concat([tcp6.subarray(0, 40), Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), tcp6.subarray(40)]);
    withHopByHop[6] = 0;
    expect(packetFlow(withHopByHop)).toMatchObject({ protocol: 'TCP', destinationPort: 443 });
  });
});
