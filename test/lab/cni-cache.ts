// The libcni result cache that Flannel's `cbr0` network leaves on a node for each pod
// (/var/lib/cni/results/cbr0-<containerId>-eth0), written the way libcni writes it: its `cachedInfo` struct in
// field order, and the result as Go marshals a map (keys sorted).
import { CLUSTER_CIDR_V4, CLUSTER_CIDR_V6 } from './addressing.js';

export const CNI_NETWORK_NAME = 'cbr0';
export const CNI_IF_NAME = 'eth0';
export const CNI_VERSION = '1.0.0';

/** kube-flannel's cni-conf.json, which libcni caches base64-encoded. */
const FLANNEL_NET_CONF = {
  name: CNI_NETWORK_NAME,
  cniVersion: CNI_VERSION,
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

export interface CniAttachment {
  readonly containerId: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUID: string;
  readonly netnsPath: string;
  readonly bridgeMAC: string;
  readonly hostVeth: string;
  readonly hostVethMAC: string;
  readonly podMAC: string;
  /** With prefix length, e.g. 10.244.1.5/24. */
  readonly ipv4: string;
  readonly ipv6: string;
  readonly gatewayIPv4: string;
  readonly gatewayIPv6: string;
}

export function cniCacheFileName(containerId: string): string {
  return `${CNI_NETWORK_NAME}-${containerId}-${CNI_IF_NAME}`;
}

export function cniCacheJSON(a: CniAttachment): string {
  const podInterface = 2;
  const cached = {
    kind: 'cniCacheV1',
    containerId: a.containerId,
    config: Buffer.from(JSON.stringify(FLANNEL_NET_CONF)).toString('base64'),
    ifName: CNI_IF_NAME,
    networkName: CNI_NETWORK_NAME,
    netns: a.netnsPath,
    cniArgs: [
      ['K8S_POD_NAMESPACE', a.podNamespace],
      ['K8S_POD_NAME', a.podName],
      ['K8S_POD_INFRA_CONTAINER_ID', a.containerId],
      ['K8S_POD_UID', a.podUID],
      ['IgnoreUnknown', '1'],
    ],
    result: {
      cniVersion: CNI_VERSION,
      dns: {},
      interfaces: [
        { mac: a.bridgeMAC, name: 'cni0' },
        { mac: a.hostVethMAC, name: a.hostVeth },
        { mac: a.podMAC, name: CNI_IF_NAME, sandbox: a.netnsPath },
      ],
      ips: [
        { address: a.ipv4, gateway: a.gatewayIPv4, interface: podInterface },
        { address: a.ipv6, gateway: a.gatewayIPv6, interface: podInterface },
      ],
      routes: [
        { dst: CLUSTER_CIDR_V4 },
        { dst: CLUSTER_CIDR_V6 },
        { dst: '0.0.0.0/0', gw: a.gatewayIPv4 },
        { dst: '::/0', gw: a.gatewayIPv6 },
      ],
    },
  };
  return JSON.stringify(cached);
}
