// This node's pod CIDRs as flannel writes them to /run/flannel/subnet.env (FLANNEL_SUBNET=10.244.1.1/24): the
// address is the bridge's, the prefix the node's range; the range is what the fail-closed option needs.
import ipaddr from 'ipaddr.js';

export const FLANNEL_SUBNET_ENV = '/run/flannel/subnet.env';

const SUBNET_KEYS = ['FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET'] as const;

/**
 * The node's pod CIDRs (network form, 10.244.1.0/24) from subnet.env's text: FLANNEL_SUBNET and
 * FLANNEL_IPV6_SUBNET, whichever are present. Throws naming the file and key of a value that is not a CIDR.
 */
export function podCidrsFromFlannelSubnetEnv(text: string, path = FLANNEL_SUBNET_ENV): string[] {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!.trim().replace(/^(["'])(.*)\1$/, '$2'));
  }
  return SUBNET_KEYS.flatMap((key) => {
    const value = values.get(key);
    if (value === undefined || value === '') return [];
    if (!ipaddr.isValidCIDR(value)) throw new Error(`${path}: ${key}: "${value}" is not a CIDR`);
    const [address, prefix] = ipaddr.parseCIDR(value);
    const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(value) : ipaddr.IPv6.networkAddressFromCIDR(value);
    return [`${network.toString()}/${prefix}`];
  });
}
