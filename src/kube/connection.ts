// How to reach the API server: @kubernetes/client-node's KubeConfig (in-cluster service account, or a kubeconfig
// file and context; TLS, tokens and exec/auth plugins included) for every request, its Watch for streams, and
// a plain GET for lists. Lists are not read through the library's typed API clients: their deserialization
// drops fields the library's model does not know and renames others (`from` becomes `_from`), so a policy
// would not be read as the API server holds it, and list items would differ from watch events.
import { existsSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { delimiter } from 'node:path';
import { type Cluster, type Context, KubeConfig, type User, Watch } from '@kubernetes/client-node';
import { ApiError } from './api-errors.js';

export type ClusterConnection =
  /** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its token and CA. */
  | { readonly kind: 'in-cluster' }
  /**
   * Kubeconfig files (several when $KUBECONFIG lists several), merged as kubectl merges them; the current
   * context unless one is named.
   */
  | { readonly kind: 'kubeconfig'; readonly paths: readonly string[]; readonly context?: string };

export type QueryParameters = Readonly<Record<string, string>>;

export interface ApiClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** GET of a JSON document; rejects with an ApiError on a non-2xx answer. */
  get(path: string, query: QueryParameters, signal: AbortSignal): Promise<unknown>;
  /**
   * Opens a watch stream. `onEvent` gets each event; `onDone` once, when the stream ends (null when it ended
   * cleanly). The returned controller aborts the stream.
   */
  watch(
    path: string,
    query: QueryParameters,
    onEvent: (type: string, object: unknown) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController>;
}

export function loadKubeConfig(connection: ClusterConnection): KubeConfig {
  const config = new KubeConfig();
  switch (connection.kind) {
    case 'in-cluster':
      config.loadFromCluster();
      break;
    case 'kubeconfig':
      config.loadFromOptions(mergedKubeconfigs(connection.paths));
      if (connection.context !== undefined) {
        if (!config.getContextObject(connection.context)) {
          throw new Error(`kubeconfig ${connection.paths.join(delimiter)}: no context named "${connection.context}"`);
        }
        config.setCurrentContext(connection.context);
      }
      break;
    default: {
      const unreachable: never = connection;
      throw new Error(`unknown connection ${JSON.stringify(unreachable)}`);
    }
  }
  if (!config.getCurrentCluster()) throw new Error(`${describeConnection(connection)}: no cluster for the current context`);
  return config;
}

/** The files $KUBECONFIG lists (none when it is unset or empty). */
export function kubeconfigPaths(kubeconfigVariable: string | undefined): string[] {
  return (kubeconfigVariable ?? '').split(delimiter).filter((path) => path !== '');
}

/**
 * kubectl's merge of $KUBECONFIG's files: the first file to name a cluster, user or context, or to set
 * current-context, wins; files of a list that do not exist are skipped, unless none does. (The library's own
 * merge lets a later file's current-context win and refuses a name given twice.)
 */
function mergedKubeconfigs(paths: readonly string[]) {
  const existing = paths.length > 1 ? paths.filter((path) => existsSync(path)) : paths;
  if (existing.length === 0) throw new Error(`none of the files exists: ${paths.join(', ')}`);
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const path of existing) {
    const file = new KubeConfig();
    // Relative certificate and key paths are resolved against the file's own directory here.
    file.loadFromFile(path);
    for (const cluster of file.getClusters()) if (!clusters.has(cluster.name)) clusters.set(cluster.name, cluster);
    for (const user of file.getUsers()) if (!users.has(user.name)) users.set(user.name, user);
    for (const context of file.getContexts()) if (!contexts.has(context.name)) contexts.set(context.name, context);
    if (currentContext === '') currentContext = file.getCurrentContext() ?? '';
  }
  return { clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext };
}

export function describeConnection(connection: ClusterConnection): string {
  switch (connection.kind) {
    case 'in-cluster':
      return 'in-cluster config';
    case 'kubeconfig':
      return `kubeconfig ${connection.paths.join(delimiter)}${connection.context !== undefined ? ` (context ${connection.context})` : ''}`;
    default: {
      const unreachable: never = connection;
      return String(unreachable);
    }
  }
}

export function createApiClient(config: KubeConfig, requestTimeoutMs: number): ApiClient {
  const server = config.getCurrentCluster()!.server;
  const watcher = new Watch(config);
  return {
    server,
    get: async (path, query, signal) => {
      const url = new URL(server + path);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      const options: RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
      // Adds the CA, client certificate, token or auth plugin's header: whatever the config says.
      await config.applyToHTTPSOptions(options);
      return getJson(url, { ...options, signal, timeout: requestTimeoutMs });
    },
    watch: (path, query, onEvent, onDone) => watcher.watch(path, { ...query }, onEvent, onDone),
  };
}

function getJson(url: URL, options: RequestOptions): Promise<unknown> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, options, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const code = response.statusCode ?? 0;
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (code < 200 || code > 299) reject(new ApiError(code, body, text.slice(0, 200) || (response.statusMessage ?? '')));
        else if (body === undefined) reject(new Error(`GET ${url.pathname}: the answer is not JSON`));
        else resolve(body);
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url.pathname}: no answer in ${options.timeout} ms`)));
    request.on('error', reject);
    request.end();
  });
}
