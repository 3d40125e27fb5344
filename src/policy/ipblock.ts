import ipaddr from 'ipaddr.js';
import { parsedIP } from '../model/addresses.js';
import type { IPBlock } from '../model/types.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface ParsedBlock {
  readonly cidr: Cidr;
  readonly except: readonly Cidr[];
}

const parsed = new WeakMap<IPBlock, ParsedBlock>();

function parseCidr(cidr: string): Cidr {
  const [addr, bits] = ipaddr.parseCIDR(cidr);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [addr, bits];
}

function cidrContains(cidr: Cidr, addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return addr.kind() === cidr[0].kind() && addr.match(cidr);
}

function parsedBlock(block: IPBlock): ParsedBlock {
  let p = parsed.get(block);
  if (!p) {
    p = { cidr: parseCidr(block.cidr), except: block.except.map(parseCidr) };
    parsed.set(block, p);
  }
  return p;
}

/** True when `ip` is inside `block.cidr` and outside every `block.except`. */
export function ipBlockContains(block: IPBlock, ip: string): boolean {
  const p = parsedBlock(block);
  const addr = parsedIP(ip);
  if (!cidrContains(p.cidr, addr)) return false;
  return !p.except.some((e) => cidrContains(e, addr));
}

/** The first of `block.except` that holds `ip`, whether or not `block.cidr` does. */
export function exceptHolding(block: IPBlock, ip: string): string | undefined {
  const addr = parsedIP(ip);
  const index = parsedBlock(block).except.findIndex((e) => cidrContains(e, addr));
  return index === -1 ? undefined : block.except[index];
}

/** A contiguous, inclusive span of addresses of one family, in canonical text. */
export interface AddressRange {
  readonly family: 4 | 6;
  readonly first: string;
  readonly last: string;
  /** Set when the span is exactly one CIDR (first/prefixLength). */
  readonly prefixLength?: number;
}

/**
 * The addresses an ipBlock covers, as sorted, disjoint, non-adjacent spans: `cidr` minus every `except`
 * (host bits of the CIDR ignored, exceptions of the other family ignored). Exactly the addresses for which
 * ipBlockContains holds, in the form a dataplane's interval set takes.
 */
export function ipBlockRanges(block: IPBlock): AddressRange[] {
  const [addr, bits] = parseCidr(block.cidr);
  const width = addr.kind() === 'ipv4' ? 32 : 128;
  let spans: [bigint, bigint][] = [cidrSpan(addr, bits, width)];
  for (const except of block.except) {
    const [exceptAddr, exceptBits] = parseCidr(except);
    if (exceptAddr.kind() !== addr.kind()) continue;
    const [cutFirst, cutLast] = cidrSpan(exceptAddr, exceptBits, width);
    spans = spans.flatMap(([first, last]): [bigint, bigint][] => {
      if (cutLast < first || cutFirst > last) return [[first, last]];
      const kept: [bigint, bigint][] = [];
      if (cutFirst > first) kept.push([first, cutFirst - 1n]);
      if (cutLast < last) kept.push([cutLast + 1n, last]);
      return kept;
    });
  }
  const family = width === 32 ? 4 : 6;
  return spans.map(([first, last]) => {
    const range = { family, first: addressText(first, width), last: addressText(last, width) } as const;
    const prefixLength = exactPrefixLength(first, last, width);
    return prefixLength === undefined ? range : { ...range, prefixLength };
  });
}

function toBigInt(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return addr.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

function cidrSpan(addr: ipaddr.IPv4 | ipaddr.IPv6, bits: number, width: number): [bigint, bigint] {
  const hostBits = BigInt(width - bits);
  const first = (toBigInt(addr) >> hostBits) << hostBits;
  return [first, first + (1n << hostBits) - 1n];
}

function addressText(value: bigint, width: number): string {
  const bytes: number[] = [];
  for (let shift = width - 8; shift >= 0; shift -= 8) bytes.push(Number((value >> BigInt(shift)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

function exactPrefixLength(first: bigint, last: bigint, width: number): number | undefined {
  const size = last - first + 1n;
  if ((size & (size - 1n)) !== 0n || first % size !== 0n) return undefined;
  return width - (size.toString(2).length - 1);
}
