import ipaddr from 'ipaddr.js';
import { implicitNamespace } from '../model/parse-namespace.js';
import {
  METADATA_NAME_LABEL,
  type Namespace,
  type NetworkPolicy,
  type Pod,
  podKey,
} from '../model/types.js';

/**
 * An immutable, indexed view of the cluster, built the same way from manifests or from watch events.
 * It knows nothing of policy semantics (that is src/policy); it only answers "what is there".
 */
export interface Snapshot {
  readonly pods: readonly Pod[];
  readonly policies: readonly NetworkPolicy[];
  /** Given namespaces plus implicit ones for every namespace an object lives in. */
  readonly namespaces: ReadonlyMap<string, Namespace>;
  namespace(name: string): Namespace;
  podsInNamespace(name: string): readonly Pod[];
  policiesInNamespace(name: string): readonly NetworkPolicy[];
  pod(key: string): Pod | undefined;
  /** The non-hostNetwork pod holding this IP, if any (hostNetwork pods share their node's address). */
  podByIP(ip: string): Pod | undefined;
}

export interface SnapshotInput {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly policies: readonly NetworkPolicy[];
}

/** Canonical text of an IP so lookups do not depend on how an address was spelled (`fd00::0a` vs `fd00::a`). */
export function canonicalIP(ip: string): string {
  return ipaddr.process(ip).toString();
}

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const namespaces = new Map<string, Namespace>();
  for (const ns of input.namespaces) {
    namespaces.set(ns.name, { ...ns, labels: { ...ns.labels, [METADATA_NAME_LABEL]: ns.name } });
  }
  const ensureNamespace = (name: string) => {
    if (!namespaces.has(name)) namespaces.set(name, implicitNamespace(name));
  };

  const podsByNamespace = new Map<string, Pod[]>();
  const podsByKey = new Map<string, Pod>();
  const podsByIP = new Map<string, Pod>();
  for (const pod of input.pods) {
    ensureNamespace(pod.namespace);
    podsByKey.set(podKey(pod), pod);
    pushTo(podsByNamespace, pod.namespace, pod);
    if (pod.hostNetwork) continue;
    // The model keeps pod IPs canonical, so building needs no parsing; lookups canonicalize their input.
    for (const ip of pod.ips) podsByIP.set(ip, pod);
  }

  const policiesByNamespace = new Map<string, NetworkPolicy[]>();
  for (const policy of input.policies) {
    ensureNamespace(policy.namespace);
    pushTo(policiesByNamespace, policy.namespace, policy);
  }

  return {
    pods: input.pods,
    policies: input.policies,
    namespaces,
    namespace: (name) => namespaces.get(name) ?? implicitNamespace(name),
    podsInNamespace: (name) => podsByNamespace.get(name) ?? [],
    policiesInNamespace: (name) => policiesByNamespace.get(name) ?? [],
    pod: (key) => podsByKey.get(key),
    podByIP: (ip) => {
      try {
        return podsByIP.get(canonicalIP(ip));
      } catch {
        return undefined;
      }
    },
  };
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
