// The fake API server does what kube-apiserver does for list and watch, or the watch layer's tests prove nothing.
// Expectations follow https://kubernetes.io/docs/reference/using-api/api-concepts/ (resourceVersion semantics,
// chunked lists, bookmarks, 410 Gone) and the API server's defaulting.
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { getJson, type OpenWatch, openWatch } from '../kube/http-client.js';
import { changed, rawNamespace, rawPod, rawPolicy } from '../kube/objects.js';

let server: FakeApiServer;
const watches: OpenWatch[] = [];
afterEach(async () => {
  for (const w of watches.splice(0)) w.close();
  await server.close();
});

async function start(options: Parameters<typeof startFakeApiServer>[0] = {}): Promise<FakeApiServer> {
  server = await startFakeApiServer({ bookmarkIntervalMs: 50, tooLargeResourceVersionWaitMs: 100, ...options });
  server.create('namespaces', rawNamespace('prod', { env: 'prod', 'kubernetes.io/metadata.name': 'spoofed' }));
  server.create('pods', rawPod('prod', 'a', { labels: { app: 'web' }, nodeName: 'node-1', ips: ['10.0.0.1'] }));
  server.create('pods', rawPod('prod', 'b', { labels: { app: 'db' }, nodeName: 'node-2', ips: ['10.0.0.2'] }));
  server.create('pods', rawPod('dev', 'c', { labels: { app: 'web' }, nodeName: 'node-1' }));
  return server;
}

const watching = (path: string) => {
  const opened = openWatch(server, path);
  watches.push(opened);
  return opened;
};
const names = (items: readonly Record<string, unknown>[] | undefined) => (items ?? []).map((i) => (i['metadata'] as { name: string }).name);

describe('writes', () => {
  it('stamps metadata and defaults as the API server does', async () => {
    await start();
    const prod = server.get('namespaces', undefined, 'prod')!;
    expect(prod.metadata.labels).toEqual({ env: 'prod', 'kubernetes.io/metadata.name': 'prod' });
    expect(prod.metadata).toMatchObject({ uid: expect.stringMatching(/^[0-9a-f-]{36}$/), resourceVersion: '1001', creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    const policy = server.create('networkpolicies', rawPolicy('prod', 'p', { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] }));
    expect(policy['spec']).toEqual({ podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'TCP' }] }], policyTypes: ['Ingress', 'Egress'] });
    expect(policy.metadata.generation).toBe(1);
    const updated = server.update('networkpolicies', changed(policy, (p) => ((p['spec'] as Record<string, unknown>)['egress'] = [])));
    expect(updated.metadata).toMatchObject({ uid: policy.metadata.uid, generation: 2, resourceVersion: String(Number(policy.metadata.resourceVersion) + 1) });
    expect(server.get('pods', 'prod', 'a')!['status']).toMatchObject({ podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }] });
  });
});

describe('list', () => {
  it('answers a typed list at the latest resourceVersion, items without kind, filtered by namespace and selectors', async () => {
    await start();
    const all = await getJson(server, '/api/v1/pods');
    expect(all.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(server.resourceVersion) } });
    expect(names(all.body.items)).toEqual(['c', 'a', 'b']);
    expect(all.body.items![0]).not.toHaveProperty('kind');
    expect(names((await getJson(server, '/api/v1/namespaces/prod/pods')).body.items)).toEqual(['a', 'b']);
    expect(names((await getJson(server, '/api/v1/pods?labelSelector=app%3Dweb')).body.items)).toEqual(['c', 'a']);
    expect(names((await getJson(server, '/api/v1/pods?labelSelector=app+notin+(web),!missing')).body.items)).toEqual(['b']);
    expect(names((await getJson(server, '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1,metadata.namespace!%3Ddev')).body.items)).toEqual(['a']);
    expect((await getJson(server, '/api/v1/pods?fieldSelector=spec.schedulerName%3Dx')).body).toMatchObject({ code: 400, message: 'field label not supported: spec.schedulerName' });
  });

  it('pages a consistent snapshot: what changes between pages is not in the later pages', async () => {
    await start();
    const first = await getJson(server, '/api/v1/pods?limit=2');
    expect(names(first.body.items)).toEqual(['c', 'a']);
    const token = first.body.metadata!['continue'] as string;
    server.create('pods', rawPod('prod', 'aa'));
    server.delete('pods', 'prod', 'b');
    const second = await getJson(server, `/api/v1/pods?limit=2&continue=${token}`);
    expect(names(second.body.items)).toEqual(['b']);
    expect(second.body.metadata).toEqual({ resourceVersion: first.body.metadata!['resourceVersion'] });
    server.compact();
    expect((await getJson(server, `/api/v1/pods?limit=2&continue=${token}`)).body).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('serves an exact resourceVersion from history, and 410 once compacted', async () => {
    await start();
    const before = server.resourceVersion;
    server.delete('pods', 'prod', 'a');
    expect(names((await getJson(server, `/api/v1/pods?resourceVersion=${before}&resourceVersionMatch=Exact`)).body.items)).toEqual(['c', 'a', 'b']);
    expect(names((await getJson(server, `/api/v1/pods?resourceVersion=${before}&resourceVersionMatch=NotOlderThan`)).body.items)).toEqual(['c', 'b']);
    server.compact();
    const gone = await getJson(server, `/api/v1/pods?resourceVersion=${before}&resourceVersionMatch=Exact`);
    expect(gone).toMatchObject({ status: 410, body: { kind: 'Status', reason: 'Expired', message: 'The resourceVersion for the provided list is too old.' } });
  });

  it('serves cached reads from a lagging cache, and answers 504 for a resourceVersion the cache has not reached', async () => {
    await start();
    server.freezeCache();
    const frozen = server.resourceVersion;
    server.delete('pods', 'prod', 'a');
    expect((await getJson(server, '/api/v1/pods?resourceVersion=0')).body.metadata).toMatchObject({ resourceVersion: String(frozen) });
    expect(names((await getJson(server, '/api/v1/pods')).body.items)).toEqual(['c', 'b']);
    const tooLarge = await getJson(server, `/api/v1/pods?resourceVersion=${server.resourceVersion}&resourceVersionMatch=NotOlderThan`);
    expect(tooLarge).toMatchObject({ status: 504, body: { reason: 'Timeout', details: { causes: [{ reason: 'ResourceVersionTooLarge' }] } } });
    server.thawCache();
    expect((await getJson(server, `/api/v1/pods?resourceVersion=${server.resourceVersion}&resourceVersionMatch=NotOlderThan`)).status).toBe(200);
  });

  it('rejects what ValidateListOptions rejects', async () => {
    await start();
    expect((await getJson(server, '/api/v1/pods?resourceVersionMatch=NotOlderThan')).status).toBe(400);
    expect((await getJson(server, '/api/v1/pods?resourceVersion=0&resourceVersionMatch=Exact')).status).toBe(400);
    expect((await getJson(server, '/api/v1/pods?watch=1&resourceVersion=5&resourceVersionMatch=NotOlderThan')).status).toBe(400);
  });

  it('gets one object, and 404 for one that is not there', async () => {
    await start();
    expect((await getJson(server, '/api/v1/namespaces/prod/pods/a')).body).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'a' } });
    expect((await getJson(server, '/api/v1/namespaces/prod')).body).toMatchObject({ kind: 'Namespace', metadata: { name: 'prod' } });
    expect(await getJson(server, '/apis/networking.k8s.io/v1/namespaces/prod/networkpolicies/none')).toMatchObject({ status: 404, body: { reason: 'NotFound', message: 'networkpolicies "none" not found' } });
  });
});

describe('watch', () => {
  it('replays what happened after the resourceVersion, then streams, turning selector transitions into ADDED and DELETED', async () => {
    await start();
    const from = server.resourceVersion;
    server.create('pods', rawPod('prod', 'd', { labels: { app: 'web' } }));
    const w = watching(`/api/v1/pods?watch=1&resourceVersion=${from}&labelSelector=app%3Dweb`);
    await vi.waitFor(() => expect(w.events).toHaveLength(1));
    server.update('pods', changed(server.get('pods', 'prod', 'b')!, (p) => ((p.metadata.labels as Record<string, string>)['app'] = 'web')));
    server.update('pods', changed(server.get('pods', 'prod', 'a')!, (p) => ((p.metadata.labels as Record<string, string>)['app'] = 'api')));
    server.update('pods', changed(server.get('pods', 'prod', 'd')!, (p) => ((p['status'] as Record<string, unknown>)['phase'] = 'Running')));
    server.delete('pods', 'prod', 'd');
    await vi.waitFor(() => expect(w.events).toHaveLength(5));
    expect(w.events.map((e) => `${e.type} ${String(e.object.metadata['name'])}`)).toEqual(['ADDED d', 'ADDED b', 'DELETED a', 'MODIFIED d', 'DELETED d']);
    expect(w.events[0]!.object).toMatchObject({ kind: 'Pod', apiVersion: 'v1' });
    expect(w.events.at(-1)!.object.metadata['resourceVersion']).toBe(String(server.resourceVersion));
  });

  it('starts with the current objects as ADDED when given no resourceVersion', async () => {
    await start();
    const w = watching('/api/v1/namespaces/prod/pods?watch=1');
    await vi.waitFor(() => expect(w.events.map((e) => `${e.type} ${String(e.object.metadata['name'])}`)).toEqual(['ADDED a', 'ADDED b']));
  });

  it('sends bookmarks carrying only the resourceVersion, and only to watches that asked', async () => {
    await start();
    const asked = watching(`/api/v1/pods?watch=1&resourceVersion=${server.resourceVersion}&allowWatchBookmarks=true`);
    const silent = watching(`/api/v1/pods?watch=1&resourceVersion=${server.resourceVersion}`);
    server.create('namespaces', rawNamespace('other'));
    await vi.waitFor(() => expect(asked.events.length).toBeGreaterThanOrEqual(2));
    expect(asked.events[0]).toEqual({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(server.resourceVersion) } } });
    expect(silent.events).toEqual([]);
  });

  it('answers a compacted resourceVersion with an ERROR event carrying 410 Gone, then ends the stream', async () => {
    await start();
    const old = server.resourceVersion;
    server.create('namespaces', rawNamespace('other'));
    server.compact();
    const w = watching(`/api/v1/pods?watch=1&resourceVersion=${old}`);
    expect(await w.ended).toBe('end');
    expect(w.events).toEqual([
      { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${old} (${server.resourceVersion})` } },
    ]);
  });

  it('keeps a bounded history: the oldest changes fall out of it', async () => {
    await start({ retainedChanges: 2 });
    const old = server.resourceVersion;
    server.create('namespaces', rawNamespace('x'));
    server.create('namespaces', rawNamespace('y'));
    server.create('namespaces', rawNamespace('z'));
    const w = watching(`/api/v1/namespaces?watch=1&resourceVersion=${old}`);
    await w.ended;
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    const recent = watching(`/api/v1/namespaces?watch=1&resourceVersion=${old + 1}`);
    await vi.waitFor(() => expect(recent.events.map((e) => e.object.metadata['name'])).toEqual(['y', 'z']));
  });

  it('ends the stream cleanly after timeoutSeconds', async () => {
    await start();
    const started = Date.now();
    const w = watching(`/api/v1/pods?watch=1&resourceVersion=${server.resourceVersion}&timeoutSeconds=1`);
    expect(await w.ended).toBe('end');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('holds events while stalled, with the connection open, and sends them after', async () => {
    await start();
    const w = watching(`/api/v1/pods?watch=1&resourceVersion=${server.resourceVersion}&allowWatchBookmarks=true`);
    await vi.waitFor(() => expect(server.openWatches('pods')).toBe(1));
    server.stallStreams(300);
    const count = w.events.length;
    server.create('pods', rawPod('prod', 'e'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(w.events.length).toBe(count);
    expect(server.openWatches('pods')).toBe(1);
    await vi.waitFor(() => expect(w.events.some((e) => e.type === 'ADDED')).toBe(true));
  });

  it('cuts open watches mid-stream on dropConnections', async () => {
    await start();
    const w = watching(`/api/v1/pods?watch=1&resourceVersion=${server.resourceVersion}`);
    await vi.waitFor(() => expect(server.openWatches('pods')).toBe(1));
    server.dropConnections();
    expect(await w.ended).toBe('error');
    expect(server.openWatches()).toBe(0);
  });
});

describe('down', () => {
  it('answers 503 when unavailable, refuses TCP connections when refusing, and serves again when up', async () => {
    await start();
    await server.setDown(true, 'unavailable');
    expect(await getJson(server, '/api/v1/pods')).toMatchObject({ status: 503, body: { reason: 'ServiceUnavailable' } });
    await server.setDown(false);
    await server.setDown(true, 'refuse');
    const refused = await new Promise<string>((resolve) => {
      connect(server.port, '127.0.0.1').on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')).on('connect', () => resolve('connected'));
    });
    expect(refused).toBe('ECONNREFUSED');
    server.create('pods', rawPod('prod', 'while-down'));
    await server.setDown(false);
    expect(names((await getJson(server, '/api/v1/namespaces/prod/pods')).body.items)).toEqual(['a', 'b', 'while-down']);
  });
});
