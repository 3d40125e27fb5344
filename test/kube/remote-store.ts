// The fake API server's write and read API as another process sees it (lab-cli apply): HTTPS, on its unix
// socket or its TCP address, the certificate checked against the CA it hands out.
import { request, type RequestOptions } from 'node:https';
import type { ObjectStore } from './apply.js';
import { type ApiObject, RESOURCES, type ResourceName } from './resources.js';

export interface RemoteServer {
  /** A unix socket the server listens on; else `url`. */
  readonly socketPath?: string;
  readonly url?: string;
  readonly caCertificate: string;
}

export function remoteStore(server: RemoteServer): ObjectStore & { list(resource: ResourceName): Promise<unknown> } {
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const target: RequestOptions = server.socketPath !== undefined
        ? // The certificate names 127.0.0.1: that is the host it is checked against, whatever carries the bytes.
          { socketPath: server.socketPath, host: '127.0.0.1' }
        : { host: new URL(server.url ?? '').hostname, port: Number(new URL(server.url ?? '').port) };
      const outgoing = request(
        { ...target, path, method, ca: server.caCertificate, agent: false, headers: { 'Content-Type': 'application/json' } },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => {
            try {
              resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
            } catch {
              reject(new Error(`${method} ${path}: answer ${response.statusCode ?? 0} is not JSON: ${text.slice(0, 200)}`));
            }
          });
          response.on('error', reject);
        },
      );
      outgoing.on('error', (error) => reject(new Error(`${method} ${path}: ${error.message}`)));
      outgoing.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const expectOk = (method: string, path: string, answer: { status: number; body: Record<string, unknown> }) => {
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${String(answer.body['message'] ?? '')}`);
    return answer.body as ApiObject;
  };
  return {
    list: async (resource) => {
      const path = collectionPath(resource, undefined);
      const answer = await call('GET', path);
      if (answer.status >= 300) throw new Error(`GET ${path}: ${answer.status} ${String(answer.body['message'] ?? '')}`);
      return answer.body;
    },
    get: async (resource, namespace, name) => {
      const path = objectPath(resource, namespace, name);
      const answer = await call('GET', path);
      return answer.status === 404 ? undefined : expectOk('GET', path, answer);
    },
    create: async (resource, object) => {
      const path = collectionPath(resource, object.metadata.namespace);
      return expectOk('POST', path, await call('POST', path, object));
    },
    update: async (resource, object) => {
      const path = objectPath(resource, object.metadata.namespace, object.metadata.name);
      return expectOk('PUT', path, await call('PUT', path, object));
    },
    delete: async (resource, namespace, name) => {
      const path = objectPath(resource, namespace, name);
      expectOk('DELETE', path, await call('DELETE', path));
    },
  };
}

/** The server's latest resourceVersion, as a consistent list reports it. */
export async function latestResourceVersion(server: RemoteServer): Promise<number> {
  const store = remoteStore(server);
  // Namespaces are few; a list of them costs next to nothing and carries the global resourceVersion.
  const list = (await store.list('namespaces')) as { metadata?: { resourceVersion?: string } };
  return Number(list.metadata?.resourceVersion ?? 0);
}

function collectionPath(resource: ResourceName, namespace: string | undefined): string {
  const { groupVersionPath, namespaced } = RESOURCES[resource];
  return namespaced ? `${groupVersionPath}/namespaces/${encodeURIComponent(namespace ?? '')}/${resource}` : `${groupVersionPath}/${resource}`;
}

function objectPath(resource: ResourceName, namespace: string | undefined, name: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}
