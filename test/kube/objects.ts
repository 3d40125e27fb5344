// Raw API objects for tests, as a client would write them to the API server (before its defaulting).
import type { ApiObject } from './resources.js';

export interface RawPodOptions {
  readonly labels?: Record<string, string>;
  readonly nodeName?: string;
  readonly ips?: readonly string[];
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  readonly hostNetwork?: boolean;
  /** The node's address (status.hostIP). Default 192.168.0.10. */
  readonly hostIP?: string;
  readonly ports?: readonly { name?: string; containerPort: number; protocol?: string }[];
}

export function rawNamespace(name: string, labels: Record<string, string> = {}): ApiObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** A pod as the scheduler and kubelet leave it: scheduled, with the status fields a real one has. */
export function rawPod(namespace: string, name: string, options: RawPodOptions = {}): ApiObject {
  const ips = options.ips ?? [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: options.labels ?? {}, annotations: { 'kubernetes.io/psp': 'restricted' } },
    spec: {
      ...(options.nodeName !== undefined ? { nodeName: options.nodeName } : {}),
      ...(options.hostNetwork ? { hostNetwork: true } : {}),
      containers: [{ name: 'main', image: 'registry.example/app:1.0', ports: options.ports ?? [], resources: {} }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
    },
    status: {
      phase: options.phase ?? (ips.length > 0 ? 'Running' : 'Pending'),
      ...(options.nodeName !== undefined ? { hostIP: options.hostIP ?? '192.168.0.10', hostIPs: [{ ip: options.hostIP ?? '192.168.0.10' }] } : {}),
      ...(ips.length > 0 ? { podIPs: ips.map((ip) => ({ ip })) } : {}),
      conditions: [{ type: 'Ready', status: ips.length > 0 ? 'True' : 'False' }],
    },
  };
}

export function rawPolicy(namespace: string, name: string, spec: Record<string, unknown>): ApiObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

/** The same object with a change made to a copy of it. */
export function changed(object: ApiObject, change: (copy: ApiObject) => void): ApiObject {
  const copy = structuredClone(object);
  change(copy);
  return copy;
}
