// The lab's address plan, the one Flannel gives a cluster: node i owns 10.244.i.0/24 and fd00:10:244:i::/64.
import { randomBytes } from 'node:crypto';

export const CLUSTER_CIDR_V4 = '10.244.0.0/16';
export const CLUSTER_CIDR_V6 = 'fd00:10:244::/48';
export const UNDERLAY_PREFIX_V4 = 24;
export const UNDERLAY_PREFIX_V6 = 64;
export const VXLAN_ID = 1;
export const VXLAN_PORT = 8472;
export const MAX_NODES = 250;

/** Documentation ranges (RFC 5737, RFC 3849): they exist only on the lab's outside host. */
export const OUTSIDE_ADDRESSES_V4 = ['203.0.113.10', '203.0.113.20', '198.51.100.10'] as const;
export const OUTSIDE_ADDRESSES_V6 = ['2001:db8::10', '2001:db8::20'] as const;
export const OUTSIDE_ROUTES_V4 = ['203.0.113.0/24', '198.51.100.0/24'] as const;
export const OUTSIDE_ROUTES_V6 = ['2001:db8::/32'] as const;
export const OUTSIDE_UNDERLAY_V4 = '172.31.255.254';
export const OUTSIDE_UNDERLAY_V6 = 'fd00:ff::fe';

export interface NodeAddressing {
  readonly underlayIPv4: string;
  readonly underlayIPv6: string;
  readonly podCIDRv4: string;
  readonly podCIDRv6: string;
  /** cni0's addresses, the pods' gateways. */
  readonly gatewayIPv4: string;
  readonly gatewayIPv6: string;
  /** flannel.1's addresses: the network address of the pod CIDR, as Flannel assigns it. */
  readonly flannelIPv4: string;
  readonly flannelIPv6: string;
  /** Fixed, so that routes to a node need no lookup; every lab has its own underlay, so labs never clash. */
  readonly flannelMAC: string;
}

export function nodeAddressing(index: number): NodeAddressing {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES) {
    throw new Error(`node index ${index} is outside 1..${MAX_NODES}`);
  }
  const hex = index.toString(16);
  return {
    underlayIPv4: `172.31.255.${index}`,
    underlayIPv6: `fd00:ff::${hex}`,
    podCIDRv4: `10.244.${index}.0/24`,
    podCIDRv6: `fd00:10:244:${hex}::/64`,
    gatewayIPv4: `10.244.${index}.1`,
    gatewayIPv6: `fd00:10:244:${hex}::1`,
    flannelIPv4: `10.244.${index}.0`,
    flannelIPv6: `fd00:10:244:${hex}::`,
    flannelMAC: `0e:b4:00:00:00:${index.toString(16).padStart(2, '0')}`,
  };
}

/** Host numbers 2..254 of a node's /24; the same number, in hex, in its /64. */
export const FIRST_POD_HOST = 2;
export const LAST_POD_HOST = 254;

export function podAddresses(nodeIndex: number, host: number): { ipv4: string; ipv6: string } {
  if (!Number.isInteger(host) || host < FIRST_POD_HOST || host > LAST_POD_HOST) {
    throw new Error(`pod host number ${host} is outside ${FIRST_POD_HOST}..${LAST_POD_HOST}`);
  }
  return {
    ipv4: `10.244.${nodeIndex}.${host}`,
    ipv6: `fd00:10:244:${nodeIndex.toString(16)}::${host.toString(16)}`,
  };
}

/** A random unicast, locally administered MAC address, as the kernel gives veths. */
export function randomMAC(): string {
  const bytes = randomBytes(6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function randomHex(chars: number): string {
  return randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars);
}
