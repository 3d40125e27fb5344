// CNI bindings for the generated pods of one node, as the agent would read them from the CNI result cache: the
// source-binding table then holds what it holds on a real node (one veth and its addresses per local pod).
import { createHash } from 'node:crypto';
import type { PodBinding } from '../src/compile/index.js';
import type { Pod } from '../src/model/types.js';

export function localBindings(pods: readonly Pod[], nodeName: string): PodBinding[] {
  return pods
    .filter((pod) => pod.nodeName === nodeName && !pod.hostNetwork)
    .map((pod) => ({
      namespace: pod.namespace,
      name: pod.name,
      hostIfname: `veth${createHash('sha256').update(`${pod.namespace}/${pod.name}`).digest('hex').slice(0, 8)}`,
      ips: pod.ips,
    }));
}
