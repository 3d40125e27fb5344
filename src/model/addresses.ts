// IP and CIDR text: what the API accepts, canonical forms, containment. ipaddr.js does the parsing; this file
// only adds the API server's stricter reading of what a valid address looks like.
import ipaddr from 'ipaddr.js';

export type IPFamily = 'ipv4' | 'ipv6';
type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  /**
   * Canonical text: the address in canonical form, the prefix length as given. Host bits are kept, as the API
   * keeps them (`10.0.0.1/24` stays so and means 10.0.0.0/24).
   */
  readonly text: string;
  readonly family: IPFamily;
  readonly address: Address;
  readonly prefixLength: number;
}

const INVALID_IP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const INVALID_CIDR = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';
const LEADING_ZEROS = 'must not have leading 0s';
const IPV4_MAPPED = 'must not be an IPv4-mapped IPv6 address';
const DOTTED_QUAD = /^\d+\.\d+\.\d+\.\d+$/;
const DECIMAL = /^\d+$/;

/**
 * Reads an address the way the API's strict IP validation does. It rejects what other tools would read
 * differently: `010.0.0.1` (octal to libc, decimal to Go), IPv4-mapped IPv6 (v4 to some, v6 to others),
 * IPv6 zones, and ipaddr.js's own liberties (`10.1`, hex octets).
 */
function parseAddress(text: string): { address?: Address; error?: string } {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return { address: ipaddr.IPv4.parse(text) };
  if (DOTTED_QUAD.test(text) && text.split('.').every((octet) => Number(octet) <= 255)) {
    return { error: LEADING_ZEROS };
  }
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return { error: INVALID_IP };
  const address = ipaddr.IPv6.parse(text);
  if (address.isIPv4MappedAddress()) return { error: IPV4_MAPPED };
  return { address };
}

// Verdicts ask about the same addresses over and over (each pod's, each flow's ends, against every ipBlock):
// parsing dominated them, so each address is parsed once. Bounded, since a long-lived agent sees pods come and go.
const parsedAddresses = new Map<string, Address>();
const MAX_PARSED_ADDRESSES = 1 << 16;

/**
 * An address as the kernel and the API server take it when matching: IPv4-mapped IPv6 (::ffff:a.b.c.d) is the
 * IPv4 address. For addresses already read (validated), not for validating them: see readIP.
 */
export function parsedIP(ip: string): Address {
  let address = parsedAddresses.get(ip);
  if (address === undefined) {
    address = ipaddr.process(ip);
    if (parsedAddresses.size >= MAX_PARSED_ADDRESSES) parsedAddresses.clear();
    parsedAddresses.set(ip, address);
  }
  return address;
}

export function ipFamily(ip: string): 4 | 6 {
  return parsedIP(ip).kind() === 'ipv4' ? 4 : 6;
}

/** Canonical text of a valid IP address (`FD00:0::0A` -> `fd00::a`), or the reason it is not one. */
export function readIP(text: string): { ip: string; family: IPFamily; error?: never } | { ip?: never; family?: never; error: string } {
  const { address, error } = parseAddress(text);
  if (!address) return { error: error ?? INVALID_IP };
  return { ip: address.toString(), family: address.kind() };
}

export function readCidr(text: string): { cidr: Cidr; error?: never } | { cidr?: never; error: string } {
  const parts = text.split('/');
  if (parts.length !== 2 || !DECIMAL.test(parts[1]!)) return { error: INVALID_CIDR };
  const [addressText, prefixText] = parts as [string, string];
  const { address, error } = parseAddress(addressText);
  if (error === LEADING_ZEROS || (address && prefixText.length > 1 && prefixText.startsWith('0'))) {
    return { error: 'must not have leading 0s in IP or prefix length' };
  }
  if (error === IPV4_MAPPED) return { error: 'must not have an IPv4-mapped IPv6 address' };
  const prefixLength = Number(prefixText);
  if (!address || prefixLength > bitLength(address.kind())) return { error: INVALID_CIDR };
  return { cidr: { text: `${address.toString()}/${prefixLength}`, family: address.kind(), address, prefixLength } };
}

/** `10.0.0.1/24`: ambiguous to a reader (a subnet or one host?), though the API takes it as 10.0.0.0/24. */
export function hasHostBits(cidr: Cidr): boolean {
  return network(cidr).toString() !== cidr.address.toString();
}

export function networkText(cidr: Cidr): string {
  return `${network(cidr).toString()}/${cidr.prefixLength}`;
}

function network(cidr: Cidr): Address {
  return cidr.family === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(cidr.text)
    : ipaddr.IPv6.networkAddressFromCIDR(cidr.text);
}

/** Same family, longer prefix, inside: what ipBlock.except must be to its cidr. */
export function isStrictSubnet(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.family === outer.family &&
    inner.prefixLength > outer.prefixLength &&
    inner.address.match(outer.address, outer.prefixLength)
  );
}

export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(bitLength(cidr.family) - cidr.prefixLength);
}

/** The `offset`-th address of the CIDR's network, or undefined past its end. */
export function addressAt(cidr: Cidr, offset: bigint): string | undefined {
  if (offset < 0n || offset >= cidrSize(cidr)) return undefined;
  const bytes = network(cidr).toByteArray();
  return ipaddr.fromByteArray(bigIntToBytes(bytesToBigInt(bytes) + offset, bytes.length)).toString();
}

function bitLength(family: IPFamily): number {
  return family === 'ipv4' ? 32 : 128;
}

function bytesToBigInt(bytes: readonly number[]): bigint {
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

function bigIntToBytes(value: bigint, length: number): number[] {
  const bytes = new Array<number>(length);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}
