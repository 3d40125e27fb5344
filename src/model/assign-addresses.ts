// Addresses for pods that manifests give none: deterministic, so the same manifests always give the same IPs.
import { addressAt, type Cidr, cidrSize, type IPFamily } from './addresses.js';
import { compareText } from './text-order.js';
import type { Pod, ValidationError } from './types.js';

/** What the CLI assumes when told nothing: Flannel's default pod network, and a ULA twin for IPv6. */
export const DEFAULT_POD_CIDRS: readonly string[] = ['10.244.0.0/16', 'fd00:10:244::/48'];
/**
 * Where hostNetwork pods without addresses get theirs: they share their node's address, which is outside the
 * pod network (kind's node network looks like this).
 */
export const DEFAULT_NODE_CIDRS: readonly string[] = ['172.18.0.0/16', 'fd00:172:18::/64'];

/** The first addresses of a network are the gateway's and the like; handing out starts at .10. */
const FIRST_OFFSET = 10n;

export interface AddressRanges {
  readonly podCidrs: readonly Cidr[];
  readonly nodeCidrs: readonly Cidr[];
}

/**
 * Gives every pod without addresses one of each family of its range, in the order of namespace/name, skipping
 * addresses already given to some pod. hostNetwork pods on the same node share one node address, the one a
 * pod of that node was given if any.
 */
export function assignAddresses(pods: readonly Pod[], ranges: AddressRanges): { pods: Pod[]; errors: ValidationError[] } {
  const ordered = [...pods].sort(byNamespaceAndName);
  const taken = new Set(ordered.flatMap((pod) => pod.ips));
  const nextPodAddress = allocator(ranges.podCidrs, taken);
  const nextNodeAddress = allocator(ranges.nodeCidrs, taken);
  const nodeAddresses = new Map<string, readonly string[]>();
  for (const pod of ordered) {
    if (pod.hostNetwork && pod.nodeName !== undefined && pod.ips.length > 0 && !nodeAddresses.has(pod.nodeName)) {
      nodeAddresses.set(pod.nodeName, pod.ips);
    }
  }

  const errors: ValidationError[] = [];
  const assign = (pod: Pod, cidrs: readonly Cidr[], next: (family: IPFamily) => string | undefined): string[] =>
    familiesOf(cidrs).flatMap((family) => {
      const ip = next(family);
      if (ip === undefined) {
        errors.push({ object: describePod(pod), field: '', message: `no free ${family} address left in ${cidrs.filter((c) => c.family === family).map((c) => c.text).join(', ')}` });
      }
      return ip === undefined ? [] : [ip];
    });

  const result = ordered.map((pod): Pod => {
    if (pod.ips.length > 0) return pod;
    if (!pod.hostNetwork) return { ...pod, ips: assign(pod, ranges.podCidrs, nextPodAddress) };
    const shared = pod.nodeName === undefined ? undefined : nodeAddresses.get(pod.nodeName);
    if (shared) return { ...pod, ips: shared };
    const ips = assign(pod, ranges.nodeCidrs, nextNodeAddress);
    if (pod.nodeName !== undefined) nodeAddresses.set(pod.nodeName, ips);
    return { ...pod, ips };
  });
  return { pods: result, errors };
}

/** `Pod prod/web`, or `Deployment prod/web` for the pod of a workload. */
export function describePod(pod: Pod): string {
  const kind = pod.workload?.slice(0, pod.workload.indexOf('/')) ?? 'Pod';
  return `${kind} ${pod.namespace}/${pod.name}`;
}

interface Named {
  readonly namespace: string;
  readonly name: string;
  readonly workload?: string;
}

export function byNamespaceAndName(a: Named, b: Named): number {
  return compareText(a.namespace, b.namespace) || compareText(a.name, b.name) || compareText(a.workload ?? '', b.workload ?? '');
}

function familiesOf(cidrs: readonly Cidr[]): IPFamily[] {
  return [...new Set(cidrs.map((cidr) => cidr.family))];
}

/** Hands out the free addresses of the ranges of a family in turn, never the last one (IPv4 broadcast). */
function allocator(cidrs: readonly Cidr[], taken: Set<string>): (family: IPFamily) => string | undefined {
  const cursors = cidrs.map(() => FIRST_OFFSET);
  return (family) => {
    for (const [i, cidr] of cidrs.entries()) {
      if (cidr.family !== family) continue;
      for (let offset = cursors[i]!; offset < cidrSize(cidr) - 1n; offset++) {
        const ip = addressAt(cidr, offset);
        if (ip !== undefined && !taken.has(ip)) {
          taken.add(ip);
          cursors[i] = offset + 1n;
          return ip;
        }
      }
      cursors[i] = cidrSize(cidr);
    }
    return undefined;
  };
}
