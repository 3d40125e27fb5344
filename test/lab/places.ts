// The things of a lab that traffic starts from and goes to. Plain data: the state file holds them as they are.
import type { NodeAddressing } from './addressing.js';
import type { Proto } from './traffic.js';

/** Anything with a network namespace: a pod, a node (hostNetwork), the outside host. */
export interface Place {
  readonly netns: string;
  /** How servers introduce themselves in their replies and how errors name the place, e.g. `default/frontend`. */
  readonly label: string;
}

export interface LabNode extends Place, NodeAddressing {
  readonly kind: 'node';
  /** The Kubernetes node name, e.g. `node1`. */
  readonly name: string;
  readonly index: number;
  readonly cniBridgeMAC: string;
  /** Stands in for /var/lib/cni/results on this node. */
  readonly cniResultsDir: string;
  readonly logDir: string;
}

export interface LabPod extends Place {
  readonly kind: 'pod';
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The name of the node it runs on. */
  readonly node: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** Further addresses on eth0 that no CNI gave it (addSpoofedAddress). */
  readonly spoofedAddresses: readonly string[];
  readonly hostVeth: string;
  readonly hostVethMAC: string;
  readonly podMAC: string;
  readonly containerId: string;
  readonly uid: string;
  readonly cniCacheFile: string;
}

export interface OutsideHost extends Place {
  readonly kind: 'outside';
  readonly underlayIPv4: string;
  readonly underlayIPv6: string;
  /** Addresses in documentation ranges, reachable from pods only through their node's masquerade. */
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

export interface PodSpec {
  readonly namespace: string;
  readonly name: string;
  /** A node name of the lab, e.g. `node1`. */
  readonly node: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A server the lab's traffic engine runs, as the state file lists it. */
export interface ServerRecord {
  readonly netns: string;
  readonly label: string;
  readonly proto: Proto;
  readonly port: number;
}
