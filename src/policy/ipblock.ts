import ipaddr from 'ipaddr.js';
import type { IPBlock } from '../model/types.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface ParsedBlock {
  readonly cidr: Cidr;
  readonly except: readonly Cidr[];
}

const parsed = new WeakMap<IPBlock, ParsedBlock>();

/** Parses an address, mapping IPv4-mapped IPv6 (::ffff:a.b.c.d) to IPv4 as the kernel and API server treat it. */
export function parseIP(ip: string): ipaddr.IPv4 | ipaddr.IPv6 {
  return ipaddr.process(ip);
}

export function parseCidr(cidr: string): Cidr {
  const [addr, bits] = ipaddr.parseCIDR(cidr);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [addr, bits];
}

function cidrContains(cidr: Cidr, addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return addr.kind() === cidr[0].kind() && addr.match(cidr);
}

/** True when `ip` is inside `block.cidr` and outside every `block.except`. */
export function ipBlockContains(block: IPBlock, ip: string): boolean {
  let p = parsed.get(block);
  if (!p) {
    p = { cidr: parseCidr(block.cidr), except: block.except.map(parseCidr) };
    parsed.set(block, p);
  }
  const addr = parseIP(ip);
  if (!cidrContains(p.cidr, addr)) return false;
  return !p.except.some((e) => cidrContains(e, addr));
}

export function ipFamily(ip: string): 4 | 6 {
  return parseIP(ip).kind() === 'ipv4' ? 4 : 6;
}

export function cidrFamily(cidr: string): 4 | 6 {
  return parseCidr(cidr)[0].kind() === 'ipv4' ? 4 : 6;
}
