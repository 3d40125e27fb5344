// The lab's Kubernetes API: the fake API server (test/kube/fake-apiserver.ts) listening on a unix socket in the
// lab's directory, and in each node a forwarder (socat, in the node's namespace) that brings it to
// https://127.0.0.1:6443 there, the address its certificate names. A path crosses network namespaces where an
// address does not, so the agents reach the server without any route out of the lab, and every byte stays in
// namespaces the lab made. The forwarders are lab processes: they die with the lab.
//
//   const api = await startLabApi(lab);                       // the server in this process, forwarders in the nodes
//   await api.registerPod(pod, { ports: [...] });             // as the kubelet reports it: node, addresses
//   const { resourceVersion } = await api.apply(yamlText);     // as `kubectl apply -f` would
//   await waitForResourceVersion(agents, resourceVersion);    // agents started with api.kubeconfig
import { join } from 'node:path';
import { type Applied, applyObjects, deleteObjects, localStore, type ManifestObject, type ObjectStore, readManifestObjects } from '../kube/apply.js';
import { type FakeApiServer, type FakeApiServerOptions, startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { rawNamespace, rawPod } from '../kube/objects.js';
import type { ContainerPort } from '../../src/model/types.js';
import type { Lab, LabNode, LabPod, LabProcess } from './lab.js';

/** Where the API server is inside every node, as kubeadm puts it on a control-plane node. */
export const NODE_API_PORT = 6443;
const FORWARDER_READY_TIMEOUT_MS = 5_000;

export interface ApplyResult {
  readonly applied: readonly Applied[];
  /** The server's resourceVersion once the apply is done: wait for the agents to reach it. */
  readonly resourceVersion: number;
}

export interface PodRegistration {
  readonly ports?: readonly ContainerPort[];
}

export interface LabApi {
  readonly server: FakeApiServer;
  readonly store: ObjectStore;
  /** A kubeconfig for processes inside the nodes (the agents): https://127.0.0.1:6443 and the server's CA. */
  readonly kubeconfig: string;
  /** `kubectl apply -f`: manifest text (several documents) or objects. */
  apply(manifests: string | readonly ManifestObject[]): Promise<ApplyResult>;
  /** `kubectl delete -f`. */
  delete(manifests: string | readonly ManifestObject[]): Promise<ApplyResult>;
  /** The pod as the kubelet reports it (node, addresses, Running), its namespace created first if missing. */
  registerPod(pod: LabPod, registration?: PodRegistration): Promise<ApplyResult>;
  /** Stops the forwarders and the server. */
  close(): Promise<void>;
}

export function apiSocketPath(lab: Pick<Lab, 'dir'>): string {
  return join(lab.dir, 'apiserver.sock');
}

export async function startLabApi(lab: Lab, options: FakeApiServerOptions = {}): Promise<LabApi> {
  const server = await startFakeApiServer({ ...options, unixSocketPath: apiSocketPath(lab) });
  let forwarders: LabProcess[] = [];
  try {
    forwarders = await forwardApiIntoNodes(lab, apiSocketPath(lab));
    const kubeconfig = await writeNodeKubeconfig(lab.dir, server.caCertificate);
    const store = localStore(server);
    const objectsOf = (manifests: string | readonly ManifestObject[]) =>
      typeof manifests === 'string' ? readManifestObjects(manifests, 'manifests') : manifests;
    return {
      server,
      store,
      kubeconfig,
      apply: async (manifests) => ({ applied: await applyObjects(store, objectsOf(manifests)), resourceVersion: server.resourceVersion }),
      delete: async (manifests) => {
        await deleteObjects(store, objectsOf(manifests));
        return { applied: [], resourceVersion: server.resourceVersion };
      },
      registerPod: async (pod, registration = {}) => ({
        applied: await applyObjects(store, podObjects(lab.node(pod.node), pod, registration, server)),
        resourceVersion: server.resourceVersion,
      }),
      close: async () => {
        await Promise.all(forwarders.map((f) => f.stop()));
        await server.close();
      },
    };
  } catch (error) {
    await Promise.all(forwarders.map((f) => f.stop()));
    await server.close();
    throw error;
  }
}

/** The namespace (when the server has none of that name) and the pod, as a cluster would hold them. */
export function podObjects(node: LabNode, pod: LabPod, registration: PodRegistration, server?: FakeApiServer): ManifestObject[] {
  const namespace = server?.get('namespaces', undefined, pod.namespace) === undefined ? [{ resource: 'namespaces' as const, object: rawNamespace(pod.namespace) }] : [];
  const object = rawPod(pod.namespace, pod.name, {
    labels: { ...pod.labels },
    nodeName: node.name,
    hostIP: node.underlayIPv4,
    ips: [pod.ipv4, pod.ipv6],
    ports: (registration.ports ?? []).map((p) => ({ ...(p.name === undefined ? {} : { name: p.name }), containerPort: p.containerPort, protocol: p.protocol })),
  });
  return [...namespace, { resource: 'pods', object }];
}

/** One socat per node: 127.0.0.1:6443 in the node's namespace -> the server's unix socket. */
export async function forwardApiIntoNodes(lab: Lab, socketPath: string): Promise<LabProcess[]> {
  const forwarders: LabProcess[] = [];
  try {
    for (const node of lab.nodes) {
      forwarders.push(
        await lab.runInNode(node, ['socat', `TCP-LISTEN:${NODE_API_PORT},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${socketPath}`], {
          name: 'apiserver-forwarder',
        }),
      );
    }
    await Promise.all(lab.nodes.map((node) => untilListening(lab, node)));
    return forwarders;
  } catch (error) {
    await Promise.all(forwarders.map((f) => f.stop()));
    throw error;
  }
}

async function untilListening(lab: Lab, node: LabNode): Promise<void> {
  const deadline = Date.now() + FORWARDER_READY_TIMEOUT_MS;
  for (;;) {
    const listening = await lab.exec(node, ['ss', '-Hltn', `sport = :${NODE_API_PORT}`]);
    if (listening.code === 0 && listening.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`${node.name}: the API forwarder is not listening on 127.0.0.1:${NODE_API_PORT} after ${FORWARDER_READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The kubeconfig every agent in the lab uses: the same address in every node. */
export function writeNodeKubeconfig(dir: string, caCertificate: string): Promise<string> {
  return writeKubeconfig([{ name: 'lab', server: `https://127.0.0.1:${NODE_API_PORT}`, caCertificate }], join(dir, 'kubeconfig'));
}
