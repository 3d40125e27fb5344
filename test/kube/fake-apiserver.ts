// A small HTTP server that behaves like kube-apiserver for list and watch of pods, namespaces and
// NetworkPolicies (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
// one global resourceVersion, consistent and exact lists with paging, watches from a resourceVersion with
// bookmarks and timeouts, 410 Gone past the retained history, 504 when a cache cannot reach a requested
// resourceVersion. Tests drive it: objects change, history is compacted, connections drop, streams stall, the
// whole server goes away and comes back.
//
// Writes come from the test's own process (create, update, delete) or over HTTP as kubectl sends them (POST to a
// collection, PUT and DELETE of an object), so that another process (lab-cli apply) can change a running cluster.
// Besides 127.0.0.1 it can listen on a unix socket: a path crosses network namespaces, so a forwarder in a
// lab node's namespace can bring the server to 127.0.0.1 there, which the certificate names.
//
// Objects are stored as given (after the server's defaulting), unvalidated: etcd can hold objects that
// today's validation would refuse (written before a rule tightened), and the client must cope with them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import * as status from './api-status.js';
import { History } from './history.js';
import { type ApiObject, objectKey, RESOURCE_NAMES, RESOURCES, type Resource, type ResourceName } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { servingCertificate } from './tls.js';
import { objectMatches, type WatchFilter, WatchStream } from './watch-stream.js';

export interface FakeApiServerOptions {
  /** How often an open watch that asked for them gets a BOOKMARK. Default 1000 (the real server: about a minute). */
  readonly bookmarkIntervalMs?: number;
  /** Changes kept for watches and exact lists; older ones answer 410 Gone. Default 10,000. */
  readonly retainedChanges?: number;
  /** How long a read waits for the cache to reach a requested resourceVersion before 504. Default 3000, as the real one. */
  readonly tooLargeResourceVersionWaitMs?: number;
  /** A watch without timeoutSeconds ends after this long. Default 1800. */
  readonly defaultWatchTimeoutSeconds?: number;
  readonly initialResourceVersion?: number;
  /** Also accept connections on this unix socket (same TLS, same certificate for 127.0.0.1). */
  readonly unixSocketPath?: string;
}

export type RequestVerb = 'list' | 'watch' | 'get' | 'create' | 'update' | 'delete' | 'other';

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly verb: RequestVerb;
  readonly resource?: ResourceName;
  readonly authorization?: string;
  /** The HTTP status answered; a watch that starts is 200 even when it then sends an ERROR event. */
  status: number;
}

export type DownMode = 'unavailable' | 'refuse';

interface Route {
  readonly resource: Resource;
  readonly namespace?: string;
  readonly name?: string;
}

interface ListQuery {
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: string;
  readonly limit?: number;
  readonly continueToken?: string;
}

export interface FakeApiServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  /** PEM of the CA that signed the server's certificate, for a kubeconfig. */
  readonly caCertificate: string;
  readonly port: number;
  /** The unix socket it also listens on, when asked to. */
  readonly unixSocketPath: string | undefined;
  /** The latest resourceVersion. */
  readonly resourceVersion: number;
  /** Every request received, in order. */
  readonly requests: readonly RequestRecord[];
  /** Creates an object; the server sets uid, resourceVersion, creationTimestamp and its defaults. */
  create(resource: ResourceName, object: ApiObject): ApiObject;
  /** Replaces an existing object (a PUT). */
  update(resource: ResourceName, object: ApiObject): ApiObject;
  delete(resource: ResourceName, namespace: string | undefined, name: string): void;
  get(resource: ResourceName, namespace: string | undefined, name: string): ApiObject | undefined;
  /** The objects of a resource now, as a list would return them. */
  objects(resource: ResourceName): ApiObject[];
  /** Drops all history: every earlier resourceVersion is gone (410) for watches, exact lists and continue tokens. */
  compact(): void;
  /** Destroys the sockets of open watches mid-stream. */
  dropConnections(): void;
  /** Open watches send nothing for `ms` (not even bookmarks) but stay open; held events follow. */
  stallStreams(ms: number): void;
  /**
   * Down: open connections are cut, and new requests get 503 ('unavailable', an API server behind a load
   * balancer) or are refused at TCP ('refuse', no listener). Up again: served as before, with whatever changed.
   */
  setDown(down: boolean, mode?: DownMode): Promise<void>;
  /**
   * A lagging watch cache: lists served from the cache (resourceVersion=0, NotOlderThan) see the objects as of
   * now until thawed; consistent lists (no resourceVersion) still read the latest.
   */
  freezeCache(): void;
  thawCache(): void;
  /** Calls `listener` with each request as it arrives, before it is answered (to act at a precise moment). */
  onRequest(listener: (request: RequestRecord) => void): () => void;
  /** Open watches, of one resource or all. */
  openWatches(resource?: ResourceName): number;
  close(): Promise<void>;
}

const byKey = (a: ApiObject, b: ApiObject) => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0);

/** Index of the first of `sorted` (by key) whose key is greater than `key`. */
function firstAfter(sorted: readonly ApiObject[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (objectKey(sorted[middle]!) > key) high = middle;
    else low = middle + 1;
  }
  return low;
}

export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1_000;
  const tooLargeWaitMs = options.tooLargeResourceVersionWaitMs ?? 3_000;
  const defaultWatchTimeoutMs = (options.defaultWatchTimeoutSeconds ?? 1_800) * 1_000;
  const history = new History(options.initialResourceVersion ?? 1_000, options.retainedChanges ?? 10_000);
  const requests: RequestRecord[] = [];
  const requestListeners = new Set<(request: RequestRecord) => void>();
  const watches = new Set<WatchStream>();
  const sockets = new Set<Socket>();
  let down: DownMode | undefined;
  let cacheFrozenAt: number | undefined;
  let closed = false;

  const cacheResourceVersion = () => cacheFrozenAt ?? history.resourceVersion;
  const latestResourceVersion = () => history.resourceVersion;

  /** Waits, as the watch cache does, for `current()` to reach `wanted`; false when it did not in time. */
  const reaches = async (wanted: number, current: () => number): Promise<boolean> => {
    const deadline = Date.now() + tooLargeWaitMs;
    while (current() < wanted) {
      if (Date.now() >= deadline || closed) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  };

  const send = (response: ServerResponse, record: RequestRecord, code: number, body: unknown) => {
    record.status = code;
    response.writeHead(code, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const fail = (response: ServerResponse, record: RequestRecord, failure: status.ApiStatus) => send(response, record, failure.code, failure);

  const listItems = (route: Route, objects: Iterable<ApiObject>, filter: WatchFilter) =>
    [...objects].filter((o) => objectMatches(route.resource, filter, o)).sort(byKey);
  // The pages of one list read the same state: sort it once, not once a page (a 100,000-pod list is 200 pages).
  let lastList: { readonly key: string; readonly items: readonly ApiObject[] } | undefined;
  const listItemsAt = (route: Route, at: number, filter: WatchFilter): readonly ApiObject[] => {
    const key = JSON.stringify([route.resource.name, route.namespace ?? null, at, filter]);
    if (lastList?.key === key) return lastList.items;
    const objects = at === history.resourceVersion ? history.current(route.resource.name).values() : history.objectsAt(route.resource.name, at).values();
    lastList = { key, items: listItems(route, objects, filter) };
    return lastList.items;
  };

  const list = async (route: Route, query: ListQuery, filter: WatchFilter, response: ServerResponse, record: RequestRecord) => {
    let at: number;
    let after: string | undefined;
    if (query.continueToken !== undefined) {
      const token = decodeContinue(query.continueToken);
      if (!token) return fail(response, record, status.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)'));
      if (token.resourceVersion < history.oldestAvailable) return fail(response, record, status.continueTooOld());
      at = token.resourceVersion;
      after = token.after;
    } else if (query.resourceVersion === undefined || query.resourceVersion === '') {
      at = history.resourceVersion;
    } else if (query.resourceVersion === '0') {
      at = cacheResourceVersion();
    } else {
      const wanted = Number(query.resourceVersion);
      const exact = query.resourceVersionMatch === 'Exact' || (query.resourceVersionMatch === undefined && query.limit !== undefined);
      if (exact) {
        if (wanted < history.oldestAvailable) return fail(response, record, status.listTooOld());
        if (!(await reaches(wanted, cacheResourceVersion))) return fail(response, record, status.tooLargeResourceVersion(wanted, cacheResourceVersion()));
        at = wanted;
      } else {
        if (!(await reaches(wanted, cacheResourceVersion))) return fail(response, record, status.tooLargeResourceVersion(wanted, cacheResourceVersion()));
        at = cacheResourceVersion();
      }
    }
    // A cache frozen before a compaction has nothing older to show than what is kept: it serves the latest.
    if (at < history.oldestAvailable) at = history.resourceVersion;
    let items = listItemsAt(route, at, filter);
    if (after !== undefined) {
      const start = firstAfter(items, after);
      items = items.slice(start);
    }
    const page = query.limit !== undefined && query.limit > 0 ? items.slice(0, query.limit) : items;
    const more = page.length < items.length;
    send(response, record, 200, {
      kind: route.resource.listKind,
      apiVersion: route.resource.apiVersion,
      metadata: {
        resourceVersion: String(at),
        ...(more ? { continue: encodeContinue(at, objectKey(page[page.length - 1]!)), remainingItemCount: items.length - page.length } : {}),
      },
      items: page.map(withoutTypeMeta),
    });
  };

  const watch = async (route: Route, url: URL, filter: WatchFilter, response: ServerResponse, record: RequestRecord) => {
    const given = url.searchParams.get('resourceVersion') ?? '';
    const bookmarks = ['true', '1'].includes(url.searchParams.get('allowWatchBookmarks') ?? '');
    const timeoutSeconds = url.searchParams.get('timeoutSeconds');
    const from = given === '' || given === '0' ? undefined : Number(given);
    if (from !== undefined) await reaches(from, latestResourceVersion);
    record.status = 200;
    const stream: WatchStream = new WatchStream(response, {
      resource: route.resource,
      filter,
      bookmarkIntervalMs: bookmarks ? bookmarkIntervalMs : null,
      timeoutMs: timeoutSeconds !== null ? Number(timeoutSeconds) * 1_000 : defaultWatchTimeoutMs,
      currentResourceVersion: latestResourceVersion,
      onClose: () => watches.delete(stream),
    });
    if (from === undefined) {
      // "Get state and start at most recent": the current objects as ADDED, then changes.
      for (const object of [...history.current(route.resource.name).values()].sort(byKey)) stream.added(object);
    } else if (from < history.oldestAvailable) {
      return stream.fail(status.watchTooOld(from, history.oldestAvailable));
    } else if (from > history.resourceVersion) {
      return stream.fail(status.tooLargeResourceVersion(from, history.resourceVersion));
    } else {
      for (const change of history.changesAfter(from)) stream.change(change);
    }
    // Registered in the same turn as the replay, so no change falls between the two.
    watches.add(stream);
  };

  /** kubectl's writes: POST to a collection, PUT and DELETE of an object; the body is the object as JSON. */
  const write = async (verb: 'create' | 'update' | 'delete', route: Route, request: IncomingMessage, response: ServerResponse, record: RequestRecord) => {
    const resource = route.resource.name;
    if (verb === 'delete') {
      const key = keyOf(resource, route.namespace, route.name ?? '');
      if (!history.get(resource, key)) return fail(response, record, status.notFound(resource, route.name ?? ''));
      const deleted = publish(history.delete(resource, key));
      return send(response, record, 200, { kind: route.resource.kind, apiVersion: route.resource.apiVersion, ...deleted });
    }
    const body = await readBody(request);
    const object = parseObject(body);
    if (object === undefined) return fail(response, record, status.badRequest('the body of the request is not a JSON object with metadata.name'));
    if (route.resource.namespaced) {
      if (object.metadata.namespace !== undefined && object.metadata.namespace !== route.namespace) {
        return fail(response, record, status.badRequest('the namespace of the provided object does not match the namespace sent on the request'));
      }
      object.metadata.namespace = route.namespace;
    }
    if (verb === 'update' && object.metadata.name !== route.name) {
      return fail(response, record, status.badRequest('the name of the object does not match the name on the URL'));
    }
    const exists = history.get(resource, objectKey(object)) !== undefined;
    if (verb === 'create') {
      if (exists) return fail(response, record, status.alreadyExists(resource, object.metadata.name));
      return send(response, record, 201, { kind: route.resource.kind, apiVersion: route.resource.apiVersion, ...publish(history.create(resource, object)) });
    }
    if (!exists) return fail(response, record, status.notFound(resource, object.metadata.name));
    return send(response, record, 200, { kind: route.resource.kind, apiVersion: route.resource.apiVersion, ...publish(history.update(resource, object)) });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const route = parseRoute(url.pathname);
    const isWatch = ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
    const verb = requestVerb(request.method ?? 'GET', route, isWatch);
    const record: RequestRecord = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      verb,
      ...(route ? { resource: route.resource.name } : {}),
      ...(request.headers.authorization !== undefined ? { authorization: request.headers.authorization } : {}),
      status: 0,
    };
    requests.push(record);
    for (const listener of [...requestListeners]) listener(record);
    if (down === 'unavailable') return fail(response, record, status.serviceUnavailable());
    if (!route) return fail(response, record, status.notFound('path', url.pathname));
    if (verb === 'create' || verb === 'update' || verb === 'delete') return write(verb, route, request, response, record);
    if (request.method !== 'GET') return fail(response, record, status.methodNotAllowed(request.method ?? ''));

    if (route.name !== undefined) {
      const object = history.get(route.resource.name, `${route.namespace ?? ''}/${route.name}`);
      if (!object) return fail(response, record, status.notFound(route.resource.name, route.name));
      return send(response, record, 200, { kind: route.resource.kind, apiVersion: route.resource.apiVersion, ...object });
    }

    const labels = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
    if (labels.error !== undefined) return fail(response, record, status.badRequest(labels.error));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector') ?? '', Object.keys(route.resource.fields));
    if (fields.error !== undefined) return fail(response, record, status.badRequest(fields.error));
    const query = readListQuery(url);
    const invalid = listQueryError(query, isWatch);
    if (invalid) return fail(response, record, status.badRequest(invalid));
    const filter: WatchFilter = { ...(route.namespace !== undefined ? { namespace: route.namespace } : {}), labels: labels.value, fields: fields.value };
    if (isWatch) return watch(route, url, filter, response, record);
    return list(route, query, filter, response, record);
  };

  const certificate = await servingCertificate();
  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
      else response.destroy();
    });
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  // Connections on the unix socket are handed to the HTTPS server, which speaks TLS on them as on any other.
  const unixServer = options.unixSocketPath === undefined ? undefined : createNetServer((socket) => server.emit('connection', socket));
  const listenUnix = () => new Promise<void>((resolve, reject) => {
    if (unixServer === undefined || options.unixSocketPath === undefined) return resolve();
    // A socket file left by a process that died is in the way of a new listener.
    rmSync(options.unixSocketPath, { force: true });
    unixServer.once('error', reject);
    unixServer.listen(options.unixSocketPath, () => {
      unixServer.off('error', reject);
      resolve();
    });
  });
  const closeUnix = () => new Promise<void>((resolve) => (unixServer?.listening ? unixServer.close(() => resolve()) : resolve()));
  await listenUnix();

  const publish = (change: ReturnType<History['create']>) => {
    for (const stream of [...watches]) stream.change(change);
    return structuredClone(change.object);
  };
  const keyOf = (resource: ResourceName, namespace: string | undefined, name: string) =>
    `${RESOURCES[resource].namespaced ? (namespace ?? '') : ''}/${name}`;
  const cutEverything = () => {
    for (const stream of [...watches]) stream.drop();
    for (const socket of sockets) socket.destroy();
  };

  return {
    url: `https://127.0.0.1:${port}`,
    caCertificate: certificate.cert,
    port,
    unixSocketPath: options.unixSocketPath,
    get resourceVersion() {
      return history.resourceVersion;
    },
    requests,
    create: (resource, object) => publish(history.create(resource, object)),
    update: (resource, object) => publish(history.update(resource, object)),
    delete: (resource, namespace, name) => {
      publish(history.delete(resource, keyOf(resource, namespace, name)));
    },
    get: (resource, namespace, name) => {
      const object = history.get(resource, keyOf(resource, namespace, name));
      return object && structuredClone(object);
    },
    objects: (resource) => [...history.current(resource).values()].sort(byKey).map((o) => structuredClone(o)),
    compact: () => history.compact(),
    dropConnections: () => {
      for (const stream of [...watches]) stream.drop();
    },
    stallStreams: (ms) => {
      for (const stream of watches) stream.stall(ms);
    },
    setDown: async (isDown, mode = 'unavailable') => {
      if (isDown) {
        if (down) return;
        down = mode;
        if (mode === 'refuse') {
          server.close();
          void closeUnix();
        }
        cutEverything();
      } else if (down) {
        const was = down;
        down = undefined;
        if (was === 'refuse') {
          await listen(port);
          await listenUnix();
        }
      }
    },
    freezeCache: () => {
      cacheFrozenAt = history.resourceVersion;
    },
    thawCache: () => {
      cacheFrozenAt = undefined;
    },
    onRequest: (listener) => {
      requestListeners.add(listener);
      return () => requestListeners.delete(listener);
    },
    openWatches: (resource) => [...watches].filter((w) => resource === undefined || w.resource === resource).length,
    close: async () => {
      closed = true;
      cutEverything();
      await closeUnix();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}

function requestVerb(method: string, route: Route | undefined, isWatch: boolean): RequestVerb {
  if (!route) return 'other';
  switch (method) {
    case 'GET':
      return route.name !== undefined ? 'get' : isWatch ? 'watch' : 'list';
    case 'POST':
      // To a collection; a namespaced object is created in a namespace's collection, never the all-namespaces one.
      return route.name === undefined && (!route.resource.namespaced || route.namespace !== undefined) ? 'create' : 'other';
    case 'PUT':
      return route.name !== undefined ? 'update' : 'other';
    case 'DELETE':
      return route.name !== undefined ? 'delete' : 'other';
    default:
      return 'other';
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseObject(body: string): ApiObject | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const metadata = (parsed as { metadata?: unknown }).metadata;
    if (typeof metadata !== 'object' || metadata === null || typeof (metadata as { name?: unknown }).name !== 'string') return undefined;
    return parsed as ApiObject;
  } catch {
    return undefined;
  }
}

const NAMESPACED_COLLECTION = /^\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/;

/** The collection or object a path names, for the three resources served; undefined for anything else. */
function parseRoute(path: string): Route | undefined {
  for (const resource of RESOURCE_NAMES.map((name) => RESOURCES[name])) {
    const prefix = resource.groupVersionPath;
    if (!path.startsWith(`${prefix}/`)) continue;
    const rest = path.slice(prefix.length);
    if (rest === `/${resource.name}`) return { resource };
    if (!resource.namespaced) {
      const named = /^\/namespaces\/([^/]+)$/.exec(rest);
      if (resource.name === 'namespaces' && named) return { resource, name: decodeURIComponent(named[1]!) };
      continue;
    }
    const scoped = NAMESPACED_COLLECTION.exec(rest);
    if (scoped && scoped[2] === resource.name) {
      return {
        resource,
        namespace: decodeURIComponent(scoped[1]!),
        ...(scoped[3] !== undefined ? { name: decodeURIComponent(scoped[3]) } : {}),
      };
    }
  }
  return undefined;
}

function readListQuery(url: URL): ListQuery {
  const param = (name: string) => url.searchParams.get(name) ?? undefined;
  const limit = param('limit');
  return {
    ...(param('resourceVersion') !== undefined ? { resourceVersion: param('resourceVersion') } : {}),
    ...(param('resourceVersionMatch') !== undefined ? { resourceVersionMatch: param('resourceVersionMatch') } : {}),
    ...(limit !== undefined ? { limit: Number(limit) } : {}),
    ...(param('continue') !== undefined ? { continueToken: param('continue') } : {}),
  };
}

/** ValidateListOptions, in its words. */
function listQueryError(query: ListQuery, isWatch: boolean): string | undefined {
  const match = query.resourceVersionMatch;
  const version = query.resourceVersion ?? '';
  if (match !== undefined) {
    if (isWatch) return 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch';
    if (version === '') return 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided';
    if (match !== 'Exact' && match !== 'NotOlderThan') return `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""`;
    if (match === 'Exact' && version === '0') return 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"';
    if (query.continueToken !== undefined) return 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided';
  }
  if (query.continueToken !== undefined && version !== '' && version !== '0') {
    return 'specifying resource version is not allowed when using continue';
  }
  if (version !== '' && !/^\d+$/.test(version)) return `resourceVersion: Invalid value: "${version}": must be a number`;
  return undefined;
}

function encodeContinue(resourceVersion: number, after: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: resourceVersion, start: after })).toString('base64url');
}

function decodeContinue(token: string): { resourceVersion: number; after: string } | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString());
    const { rv, start } = decoded as { rv?: unknown; start?: unknown };
    return typeof rv === 'number' && typeof start === 'string' ? { resourceVersion: rv, after: start } : undefined;
  } catch {
    return undefined;
  }
}

/** Items of a typed list carry no kind or apiVersion: those are the list's. */
function withoutTypeMeta(object: ApiObject): Record<string, unknown> {
  const { kind, apiVersion, ...rest } = object;
  return kind === undefined && apiVersion === undefined ? object : rest;
}
