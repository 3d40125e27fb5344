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
  /** The given namespaces alone: an implicit one is known by its name (and a pod or policy naming it). */
  readonly declaredNamespaces: ReadonlyMap<string, Namespace>;
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

/**
 * Indexes are built on first use, not up front: a sync after one change asks a few of them for a few keys
 * (an incremental compile needs the namespaces and the policies of a namespace, not every pod by IP), and
 * building all of them at 10,000 pods cost more than the compile of the change.
 */
export function buildSnapshot(input: SnapshotInput): Snapshot {
  const given = new Map<string, Namespace>();
  for (const ns of input.namespaces) {
    given.set(ns.name, { ...ns, labels: { ...ns.labels, [METADATA_NAME_LABEL]: ns.name } });
  }

  const namespaces = lazy(() => {
    const all = new Map(given);
    const ensure = (name: string) => {
      if (!all.has(name)) all.set(name, implicitNamespace(name));
    };
    for (const pod of input.pods) ensure(pod.namespace);
    for (const policy of input.policies) ensure(policy.namespace);
    return all;
  });
  const podsByNamespace = lazy(() => {
    const index = new Map<string, Pod[]>();
    for (const pod of input.pods) pushTo(index, pod.namespace, pod);
    return index;
  });
  const podsByKey = lazy(() => new Map(input.pods.map((pod) => [podKey(pod), pod])));
  const podsByIP = lazy(() => {
    const index = new Map<string, Pod>();
    // The model keeps pod IPs canonical, so building needs no parsing; lookups canonicalize their input.
    for (const pod of input.pods) {
      if (pod.hostNetwork) continue;
      for (const ip of pod.ips) index.set(ip, pod);
    }
    return index;
  });
  const policiesByNamespace = lazy(() => {
    const index = new Map<string, NetworkPolicy[]>();
    for (const policy of input.policies) pushTo(index, policy.namespace, policy);
    return index;
  });

  return {
    pods: input.pods,
    policies: input.policies,
    get namespaces() {
      return namespaces();
    },
    declaredNamespaces: given,
    namespace: (name) => given.get(name) ?? namespaces().get(name) ?? implicitNamespace(name),
    podsInNamespace: (name) => podsByNamespace().get(name) ?? [],
    policiesInNamespace: (name) => policiesByNamespace().get(name) ?? [],
    pod: (key) => podsByKey().get(key),
    podByIP: (ip) => {
      try {
        return podsByIP().get(canonicalIP(ip));
      } catch {
        return undefined;
      }
    },
  };
}

function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
