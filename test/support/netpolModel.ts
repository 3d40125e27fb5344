// The cluster of the upstream e2e netpol suite: namespaces x, y, z; pods a, b, c in each; every pod serving
// ports 80 and 81 on TCP, UDP and SCTP under names like `serve-80-tcp`.
import { type Namespace, type Pod, PROTOCOLS, podKey } from '../../src/model/types.js';
import { type Snapshot, buildSnapshot } from '../../src/snapshot/snapshot.js';
import type { NetworkPolicy } from '../../src/model/types.js';
import { containerPort, namespace, pod } from './builders.js';

export const MODEL_NAMESPACES = ['x', 'y', 'z'] as const;
export const MODEL_POD_NAMES = ['a', 'b', 'c'] as const;
export const MODEL_PORTS = [80, 81] as const;

export function servedPortName(port: number, protocol: string): string {
  return `serve-${port}-${protocol.toLowerCase()}`;
}

/** Each namespace carries a custom `ns` label beside the automatic kubernetes.io/metadata.name. */
export const modelNamespaces: readonly Namespace[] = MODEL_NAMESPACES.map((ns) => namespace(ns, { ns }));

/** x/a is 10.244.1.1, y/b 10.244.2.2, z/c 10.244.3.3: a namespace is a /24, which ipBlock cases rely on. */
export const modelPods: readonly Pod[] = MODEL_NAMESPACES.flatMap((ns, i) =>
  MODEL_POD_NAMES.map((name, j) =>
    pod(`${ns}/${name}`, {
      labels: { pod: name },
      ips: [`10.244.${i + 1}.${j + 1}`],
      nodeName: `node-${(j % 2) + 1}`,
      ports: MODEL_PORTS.flatMap((port) => PROTOCOLS.map((protocol) => containerPort(port, servedPortName(port, protocol), protocol))),
    }),
  ),
);

/** `x/a`, `x/b`, ... `z/c`: the rows and columns of every truth table. */
export const modelPodKeys: readonly string[] = modelPods.map(podKey);

export function modelPod(key: string): Pod {
  const found = modelPods.find((p) => podKey(p) === key);
  if (!found) throw new Error(`no model pod ${key}`);
  return found;
}

export function modelSnapshot(policies: readonly NetworkPolicy[]): Snapshot {
  return buildSnapshot({ namespaces: modelNamespaces, pods: modelPods, policies });
}
