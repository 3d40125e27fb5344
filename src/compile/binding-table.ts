import { type Pod, podKey } from '../model/types.js';
import { canonicalIP } from '../snapshot/snapshot.js';
import { IFNAME_MAX_LENGTH } from './names.js';
import { type Expression, type SetElement, accept, address, drop, etherType, iifname, match, setRef } from './nft-json.js';
import { BINDING_TABLE, type TablePlan, setPlan } from './plan.js';
import type { CompileProblem } from './problems.js';

/** One local pod's host-side veth and addresses, as the agent reads them from the CNI result cache. */
export interface PodBinding {
  readonly namespace: string;
  readonly name: string;
  readonly hostIfname: string;
  readonly ips: readonly string[];
}

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

export interface BindingTable {
  readonly table: TablePlan;
  /** Local pods with addresses but no usable binding: their source address is not checked. */
  readonly unboundPods: readonly PodRef[];
  readonly problems: readonly CompileProblem[];
}

// Bridge priority `filter` (-200) at prerouting: the frame still carries the veth it came in on.
export const BINDING_PRIORITY = -200;

// IPv6 a pod sends before or besides its own address: duplicate address detection from `::`, and neighbour
// discovery and router solicitation from its link-local fe80::/10 address. ARP is not IP and is never matched.
const IPV6_UNBOUND_SOURCES: Expression = { set: ['::', { prefix: { addr: 'fe80::', len: 10 } }] };
// ARP and every other EtherType pass: source binding speaks of IP addresses.
const IP_ETHER_TYPES: Expression = { set: ['ip', 'ip6'] };

/**
 * Table `bridge bulkhead`: a frame entering from a bound pod's veth must carry one of that pod's addresses, or
 * it is dropped before any policy sees it, so peer matching by IP cannot be fooled by a forged source.
 * Only pods of this node that the snapshot knows are bound; the binding's addresses are the CNI's own record.
 */
export function bindingTable(
  localPods: readonly Pod[],
  bindings: readonly PodBinding[],
  canonical: (ip: string) => string = canonicalIP,
): BindingTable {
  const bindingByPod = new Map(bindings.map((b) => [podKey(b), b]));
  const ports: SetElement[] = [];
  const sources: Record<4 | 6, SetElement[]> = { 4: [], 6: [] };
  const unboundPods: PodRef[] = [];
  const problems: CompileProblem[] = [];

  for (const pod of localPods) {
    const binding = bindingByPod.get(podKey(pod));
    const issues = binding ? bindingProblems(pod, binding, canonical) : [];
    problems.push(...issues);
    if (!binding || issues.length > 0) {
      if (pod.ips.length > 0) unboundPods.push({ namespace: pod.namespace, name: pod.name });
      continue;
    }
    ports.push(binding.hostIfname);
    // Canonical addresses are never IPv4-mapped (the model's contract): the family shows in the text.
    for (const ip of binding.ips.map(canonical)) sources[ip.includes(':') ? 6 : 4].push({ concat: [binding.hostIfname, ip] });
  }

  return {
    table: {
      ...BINDING_TABLE,
      counters: [],
      sets: [
        setPlan({ name: 'pod_ports', type: 'ifname', interval: false }, ports),
        setPlan({ name: 'pod_src4', type: ['ifname', 'ipv4_addr'], interval: false }, sources[4]),
        setPlan({ name: 'pod_src6', type: ['ifname', 'ipv6_addr'], interval: false }, sources[6]),
      ],
      chains: [
        {
          name: 'prerouting',
          hook: { type: 'filter', hook: 'prerouting', prio: BINDING_PRIORITY, policy: 'accept' },
          // A frame from a bound pod is one lookup of its (veth, source) pair and an accept: what every allowed
          // packet pays. Only frames that miss (forged sources, unbound veths, IPv6 link-local) go further.
          rules: [
            {
              expr: [match(etherType, 'ip'), match({ concat: [iifname, address(4, 'saddr')] }, setRef('pod_src4')), accept],
              comment: 'IPv4 source is an address of the pod behind this veth',
            },
            {
              expr: [match(etherType, 'ip6'), match({ concat: [iifname, address(6, 'saddr')] }, setRef('pod_src6')), accept],
              comment: 'IPv6 source is an address of the pod behind this veth',
            },
            {
              expr: [match(etherType, 'ip6'), match(address(6, 'saddr'), IPV6_UNBOUND_SOURCES), accept],
              comment: 'IPv6 link-local and :: sources (neighbour discovery, duplicate address detection)',
            },
            {
              expr: [match(etherType, IP_ETHER_TYPES), match(iifname, setRef('pod_ports')), drop],
              comment: 'source is not an address of the pod behind this veth',
            },
          ],
        },
      ],
    },
    unboundPods,
    problems,
  };
}

/** Why nft could not take this binding; empty when it can. */
function bindingProblems(pod: Pod, binding: PodBinding, canonical: (ip: string) => string): CompileProblem[] {
  const object = `Pod ${podKey(pod)}`;
  const problems: CompileProblem[] = [];
  if (binding.hostIfname.length === 0 || binding.hostIfname.length > IFNAME_MAX_LENGTH || /[\s"]/.test(binding.hostIfname)) {
    problems.push({
      kind: 'inexpressible',
      object,
      field: 'binding.hostIfname',
      message: `"${binding.hostIfname}" is not an interface name (1-${IFNAME_MAX_LENGTH} characters); the pod is left unbound`,
    });
  }
  binding.ips.forEach((ip, index) => {
    try {
      canonical(ip);
    } catch {
      problems.push({
        kind: 'inexpressible',
        object,
        field: `binding.ips[${index}]`,
        message: `"${ip}" is not an IP address; the pod is left unbound`,
      });
    }
  });
  if (binding.ips.length === 0) {
    problems.push({ kind: 'inexpressible', object, field: 'binding.ips', message: 'the binding has no address; the pod is left unbound' });
  }
  return problems;
}
