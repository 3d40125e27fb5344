// A lab pod as the model's Pod: what the API would show of it running, scheduled on its node with both addresses.
import type { ContainerPort, Labels, Pod } from '../../src/model/types.js';
import { canonicalIP } from '../../src/snapshot/snapshot.js';
import type { LabPod } from './places.js';

export function modelPod(pod: LabPod, spec: { readonly labels?: Labels; readonly ports?: readonly ContainerPort[] } = {}): Pod {
  return {
    namespace: pod.namespace,
    name: pod.name,
    labels: spec.labels ?? {},
    ips: [pod.ipv4, canonicalIP(pod.ipv6)],
    hostNetwork: false,
    nodeName: pod.node,
    ports: spec.ports ?? [],
  };
}
