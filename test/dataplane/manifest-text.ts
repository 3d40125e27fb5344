// Validated model objects back to the manifests an API server would hand out, so that a dataplane test can write
// them for the agent and read them back through the same loader. Only fields the model keeps are written.
import { stringify } from 'yaml';
import { nonEmpty, policyManifest } from '../../src/model/policy-manifest.js';
import type { ContainerPort, Labels, NetworkPolicy } from '../../src/model/types.js';

export interface PodManifest {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly nodeName: string;
  readonly ips: readonly string[];
  readonly ports: readonly ContainerPort[];
  /** Default false. */
  readonly hostNetwork?: boolean;
}

export function namespaceText(name: string, labels: Labels, annotations: Labels = {}): string {
  return stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...nonEmpty('labels', labels), ...nonEmpty('annotations', annotations) } });
}

export function podText(pod: PodManifest): string {
  const ports = pod.ports.map((p) => ({ ...(p.name === undefined ? {} : { name: p.name }), containerPort: p.containerPort, protocol: p.protocol }));
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, ...nonEmpty('labels', pod.labels) },
    spec: {
      nodeName: pod.nodeName,
      ...(pod.hostNetwork === true ? { hostNetwork: true } : {}),
      containers: [{ name: 'main', image: 'lab', ...(ports.length > 0 ? { ports } : {}) }],
    },
    status: { phase: 'Running', podIPs: pod.ips.map((ip) => ({ ip })), ...(pod.ips[0] === undefined ? {} : { podIP: pod.ips[0] }) },
  });
}

/** A valid policy as written; one carrying validation errors has no faithful text and is refused. */
export function policyText(policy: NetworkPolicy): string {
  if (policy.errors.length > 0) {
    throw new Error(`NetworkPolicy ${policy.namespace}/${policy.name}: carries validation errors, so it has no manifest text of its own`);
  }
  return stringify(policyManifest(policy));
}
