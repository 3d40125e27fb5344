// ipBlockRanges (src/policy) is what the compiler puts in interval sets: it must cover exactly the addresses
// ipBlockContains admits, or the kernel and the semantics disagree.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { ipBlockContains, ipBlockRanges } from '../../src/policy/index.js';
import { ipBlock } from '../support/builders.js';

function inRanges(ranges: ReturnType<typeof ipBlockRanges>, ip: string): boolean {
  const value = toBigInt(ip);
  return ranges.some((r) => toBigInt(r.first) <= value && value <= toBigInt(r.last) && ipaddr.parse(ip).kind() === ipaddr.parse(r.first).kind());
}

function toBigInt(ip: string): bigint {
  return ipaddr.parse(ip).toByteArray().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/** The IPv4 addresses just below and above one, where an off-by-one in range arithmetic would show. */
function neighbours(ip: string): string[] {
  const value = toBigInt(ip);
  return [value - 1n, value + 1n]
    .filter((v) => v >= 0n && v < 1n << 32n)
    .map((v) => ipaddr.fromByteArray([24n, 16n, 8n, 0n].map((s) => Number((v >> s) & 255n))).toString());
}

describe('ipBlockRanges', () => {
  it.each([
    [ipBlock('10.0.0.0/8'), [{ family: 4, first: '10.0.0.0', last: '10.255.255.255', prefixLength: 8 }]],
    [ipBlock('10.1.2.3/24'), [{ family: 4, first: '10.1.2.0', last: '10.1.2.255', prefixLength: 24 }]],
    [
      ipBlock('172.17.0.0/16', ['172.17.1.0/24']),
      [
        { family: 4, first: '172.17.0.0', last: '172.17.0.255', prefixLength: 24 },
        { family: 4, first: '172.17.2.0', last: '172.17.255.255' },
      ],
    ],
    [ipBlock('0.0.0.0/0', ['0.0.0.0/1', '128.0.0.0/1']), []],
    [ipBlock('fd00::/64', ['10.0.0.0/8']), [{ family: 6, first: 'fd00::', last: 'fd00::ffff:ffff:ffff:ffff', prefixLength: 64 }]],
    [ipBlock('::ffff:10.0.0.0/104'), [{ family: 4, first: '10.0.0.0', last: '10.255.255.255', prefixLength: 8 }]],
  ])('%o covers %o', (block, expected) => {
    expect(ipBlockRanges(block)).toEqual(expected);
  });

  it('agrees with ipBlockContains on random IPv4 blocks and addresses', () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const cidr = fc.tuple(octets, fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`);
    // Addresses near the block make hits likely: same first octets as the CIDR, random tail.
    fc.assert(
      fc.property(cidr, fc.array(cidr, { maxLength: 4 }), fc.array(fc.nat(255), { minLength: 8, maxLength: 8 }), (c, except, tail) => {
        const block = ipBlock(c, except);
        const ranges = ipBlockRanges(block);
        const [base] = c.split('/');
        const head = base!.split('.');
        const probes = [
          `${head[0]}.${head[1]}.${tail[0]}.${tail[1]}`,
          `${head[0]}.${tail[2]}.${tail[3]}.${tail[4]}`,
          `${tail[5]}.${tail[6]}.${tail[7]}.${tail[0]}`,
          ...ranges.flatMap((r) => [r.first, r.last, ...neighbours(r.first), ...neighbours(r.last)]),
        ];
        for (const ip of probes) expect(inRanges(ranges, ip)).toBe(ipBlockContains(block, ip));
      }),
      { numRuns: 500 },
    );
  });
});
