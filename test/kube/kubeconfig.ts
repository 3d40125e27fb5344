// A kubeconfig pointing @kubernetes/client-node at a fake API server, written as kubectl writes one.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigContext {
  readonly name: string;
  readonly server: string;
  /** PEM; the server's certificate is checked against it. */
  readonly caCertificate: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/**
 * Writes a kubeconfig with these contexts (the first is current) to `path`, or to a new temporary directory;
 * returns its path.
 */
export async function writeKubeconfig(contexts: readonly KubeconfigContext[], path?: string): Promise<string> {
  const first = contexts[0];
  if (!first) throw new Error('a kubeconfig needs at least one context');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': first.name,
    clusters: contexts.map((c) => ({
      name: c.name,
      cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caCertificate).toString('base64') },
    })),
    users: contexts.map((c) => ({ name: c.name, user: c.token !== undefined ? { token: c.token } : {} })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.name, user: c.name } })),
  };
  const target = path ?? join(await mkdtemp(join(tmpdir(), 'bulkhead-kubeconfig-')), 'config');
  await writeFile(target, stringify(config), { mode: 0o600 });
  return target;
}
