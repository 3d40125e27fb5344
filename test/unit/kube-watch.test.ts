// The watch layer against a faithful fake API server, over real HTTPS: each test breaks the connection or the
// server's history in one way and checks that the state converges to exactly the server's objects.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClusterEvent } from '../../src/kube/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import type { FakeApiServer } from '../kube/fake-apiserver.js';
import { changed, rawNamespace, rawPod, rawPolicy } from '../kube/objects.js';
import type { ApiObject, ResourceName } from '../kube/resources.js';
import { expectConverged, FAST_TIMING, startWatchedCluster, type WatchedCluster } from '../kube/watched-cluster.js';

let cluster: WatchedCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function seed(server: FakeApiServer): void {
  server.create('namespaces', rawNamespace('prod', { env: 'prod' }));
  server.create('namespaces', rawNamespace('dev'));
  server.create('pods', rawPod('prod', 'web-1', { labels: { app: 'web' }, nodeName: 'node-a', ips: ['10.244.1.5'], ports: [{ name: 'http', containerPort: 8080 }] }));
  server.create('pods', rawPod('prod', 'web-2', { labels: { app: 'web' }, nodeName: 'node-b', ips: ['10.244.2.7', 'fd00:10:244:2::7'] }));
  server.create('pods', rawPod('prod', 'db', { labels: { app: 'db' }, nodeName: 'node-a', ips: ['10.244.1.9'] }));
  server.create('pods', rawPod('dev', 'tool', { nodeName: 'node-b', ips: ['10.244.2.20'] }));
  server.create('pods', rawPod('kube-system', 'proxy', { nodeName: 'node-a', hostNetwork: true, ips: ['192.168.0.10'] }));
  server.create('networkpolicies', rawPolicy('prod', 'default-deny', { podSelector: {} }));
  server.create('networkpolicies', rawPolicy('prod', 'allow-web', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }],
  }));
}

async function started(setup: (server: FakeApiServer) => void = seed, options?: Parameters<typeof startWatchedCluster>[1]): Promise<WatchedCluster> {
  cluster = await startWatchedCluster(setup, options);
  await cluster.watch.synced();
  await expectConverged(cluster);
  // Every resource has its watch open: what changes from here on arrives by watch, not by the first list.
  await vi.waitFor(() => expect(cluster!.server.openWatches()).toBe(3));
  return cluster;
}

const requestsOf = (server: FakeApiServer, verb: 'list' | 'watch', resource: ResourceName) =>
  server.requests.filter((r) => r.verb === verb && r.resource === resource);

const modified = (server: FakeApiServer, resource: ResourceName, namespace: string | undefined, name: string, change: (copy: ApiObject) => void) =>
  server.update(resource, changed(server.get(resource, namespace, name)!, change));

const status = (object: ApiObject) => object['status'] as Record<string, unknown>;
const spec = (object: ApiObject) => object['spec'] as Record<string, unknown>;

const podEvents = (events: readonly ClusterEvent[], name: string) =>
  events.flatMap((e) => (e.type === 'pod-upsert' && e.pod.name === name ? ['upsert'] : e.type === 'pod-delete' && e.pod.name === name ? ['delete'] : []));

describe('first sync', () => {
  it('lists every resource page by page, then watches from the list with bookmarks', async () => {
    const { server, watch, events } = await started();
    expect(events.filter((e) => e.type === 'synced')).toHaveLength(1);
    const podLists = requestsOf(server, 'list', 'pods');
    // Five pods in pages of two: three pages, the later ones by continue token alone.
    expect(podLists.map((r) => Object.keys(r.query).sort().join(','))).toEqual(['limit', 'continue,limit', 'continue,limit']);
    expect(server.requests.every((r) => r.authorization === 'Bearer test-token')).toBe(true);
    expect(requestsOf(server, 'watch', 'pods')[0]?.query).toMatchObject({ allowWatchBookmarks: 'true', resourceVersion: watch.status().pods.resourceVersion });
  });

  it('sends no event for a change that policy does not see (pod conditions)', async () => {
    const { server, events } = await started();
    const before = events.length;
    modified(server, 'pods', 'prod', 'db', (pod) => {
      status(pod)['conditions'] = [{ type: 'Ready', status: 'False' }];
    });
    modified(server, 'pods', 'prod', 'db', (pod) => {
      (pod.metadata.labels as Record<string, string>)['app'] = 'database';
    });
    await vi.waitFor(() => expect(events.length).toBe(before + 1));
    expect(events[before]).toMatchObject({ type: 'pod-upsert', pod: { name: 'db', labels: { app: 'database' } }, previous: { labels: { app: 'db' } } });
  });
});

describe('a connection dropped mid-stream', () => {
  it('watches again from the last resourceVersion seen, without a relist, and misses nothing', async () => {
    const { server, watch } = await started();
    server.create('pods', rawPod('prod', 'web-3', { labels: { app: 'web' }, ips: ['10.244.1.30'] }));
    await expectConverged(cluster!);
    const seen = watch.status().pods.resourceVersion;

    server.dropConnections();
    // Changes while no watch is open reach the next one.
    server.delete('pods', 'prod', 'web-1');
    modified(server, 'networkpolicies', 'prod', 'default-deny', (p) => {
      spec(p)['policyTypes'] = ['Ingress', 'Egress'];
    });
    await expectConverged(cluster!);

    expect(watch.status().pods.restarts.error).toBeGreaterThanOrEqual(1);
    expect(requestsOf(server, 'list', 'pods')).toHaveLength(3);
    expect(requestsOf(server, 'watch', 'pods')[1]?.query['resourceVersion']).toBe(seen);
  });
});

describe('a watch the server ends (timeoutSeconds)', () => {
  it('is watched again at once from where it was, without a relist', async () => {
    const { server, watch } = await started(seed, { timing: { watchTimeoutSeconds: 1 } });
    await vi.waitFor(() => expect(watch.status().pods.restarts.closed).toBeGreaterThanOrEqual(1), { timeout: 3_000 });
    server.create('pods', rawPod('prod', 'after-timeout', { ips: ['10.244.1.88'] }));
    await expectConverged(cluster!);
    const podWatches = requestsOf(server, 'watch', 'pods');
    expect(Number(podWatches[0]?.query['timeoutSeconds'])).toBeGreaterThanOrEqual(1);
    expect(podWatches[1]?.query['resourceVersion']).toBe(podWatches[0]?.query['resourceVersion']);
    expect(watch.status().pods.restarts.error).toBe(0);
    expect(requestsOf(server, 'list', 'pods')).toHaveLength(3);
  });
});

describe('410 Gone', () => {
  it('relists and reconciles, so an object deleted while the watch was away is gone', async () => {
    const { server, watch, events } = await started();
    server.dropConnections();
    // All in one turn: no watch can come back before the history of these changes is compacted away.
    server.delete('pods', 'prod', 'web-1');
    server.delete('networkpolicies', 'prod', 'allow-web');
    server.create('pods', rawPod('prod', 'web-4', { labels: { app: 'web' }, ips: ['10.244.1.40'] }));
    server.compact();
    await expectConverged(cluster!);

    expect(watch.status().pods.restarts.expired).toBe(1);
    expect(podEvents(events, 'web-1')).toEqual(['upsert', 'delete']);
    expect(events.some((e) => e.type === 'policy-delete' && e.policy.name === 'allow-web')).toBe(true);
    const rewatch = requestsOf(server, 'watch', 'pods')[1];
    expect(rewatch?.status).toBe(200);
    // The relist after 410 reads the latest state: no resourceVersion.
    expect(requestsOf(server, 'list', 'pods').slice(3)[0]?.query).toEqual({ limit: String(FAST_TIMING.pageSize) });
  });
});

describe('a list whose continue token expires between pages', () => {
  it('starts the list over from the latest state', async () => {
    cluster = await startWatchedCluster(seed);
    const { server, watch } = cluster;
    // The first continue request finds its history compacted, after a deletion the first page did not see.
    const stopListening = server.onRequest((request) => {
      if (request.resource !== 'pods' || request.query['continue'] === undefined) return;
      stopListening();
      server.delete('pods', 'dev', 'tool');
      server.compact();
    });
    await watch.synced();
    await expectConverged(cluster);
    const podLists = requestsOf(server, 'list', 'pods');
    expect(podLists.map((r) => r.status)).toContain(410);
    expect(watch.status().pods.listFailures).toBe(1);
  });
});

describe('bookmarks', () => {
  it('advance the resourceVersion of a quiet resource, so its rewatch survives a compaction', async () => {
    const { server, watch } = await started();
    // Only namespaces change: pods hear of the new resourceVersion by bookmark alone.
    server.create('namespaces', rawNamespace('staging'));
    server.create('namespaces', rawNamespace('qa'));
    const latest = String(server.resourceVersion);
    await vi.waitFor(() => expect(watch.status().pods.resourceVersion).toBe(latest));

    server.dropConnections();
    server.compact();
    await vi.waitFor(() => expect(server.openWatches()).toBe(3));
    await expectConverged(cluster!);

    expect(requestsOf(server, 'watch', 'pods')[1]?.query['resourceVersion']).toBe(latest);
    expect(watch.status().pods.restarts.expired).toBe(0);
    expect(requestsOf(server, 'list', 'pods')).toHaveLength(3);
  });
});

describe('the periodic relist (resync)', () => {
  it('asks for a state not older than the one it holds, and relists the latest when a lagging cache cannot serve it', async () => {
    const { server, watch, events } = await started(seed, { timing: { resyncIntervalMs: 300 } });
    // The cache stops here; the deletion below reaches the watch, not the cache.
    server.freezeCache();
    server.delete('pods', 'prod', 'db');
    await vi.waitFor(() => expect(podEvents(events, 'db')).toEqual(['upsert', 'delete']));
    const held = watch.status().pods.resourceVersion;

    await vi.waitFor(() => expect(watch.status().pods.restarts.resync).toBeGreaterThanOrEqual(1), { timeout: 3_000 });
    await vi.waitFor(() => expect(requestsOf(server, 'list', 'pods').filter((r) => r.status === 200 && r.query['resourceVersion'] === undefined && r.query['continue'] === undefined).length).toBeGreaterThanOrEqual(2));
    const resync = requestsOf(server, 'list', 'pods').find((r) => r.query['resourceVersionMatch'] !== undefined);
    expect(resync).toMatchObject({ status: 504, query: { resourceVersion: held, resourceVersionMatch: 'NotOlderThan' } });
    await expectConverged(cluster!);
    // The stale cache never took the deleted pod back.
    expect(podEvents(events, 'db')).toEqual(['upsert', 'delete']);
  });

  it('is served from the cache when the cache is current, and changes nothing that is already right', async () => {
    const { server, watch, events } = await started(seed, { timing: { resyncIntervalMs: 200 } });
    const before = events.length;
    const resyncs = () => requestsOf(server, 'list', 'pods').filter((r) => r.query['resourceVersionMatch'] === 'NotOlderThan' && r.status !== 0);
    await vi.waitFor(() => expect(resyncs().length).toBeGreaterThanOrEqual(2), { timeout: 3_000 });
    expect(resyncs().every((r) => r.status === 200)).toBe(true);
    expect(watch.status().pods.restarts.resync).toBeGreaterThanOrEqual(2);
    expect(events.length).toBe(before);
    await expectConverged(cluster!);
  });
});

describe('a stalled stream', () => {
  it('is noticed by the watchdog and watched again, long before the stall ends', async () => {
    const { server, watch } = await started();
    const stallMs = 20_000;
    server.stallStreams(stallMs);
    const stalledAt = Date.now();
    server.create('pods', rawPod('prod', 'late', { ips: ['10.244.1.77'] }));
    await expectConverged(cluster!, 3_000);

    expect(Date.now() - stalledAt).toBeLessThan(stallMs / 4);
    expect(watch.status().pods.restarts.stalled).toBeGreaterThanOrEqual(1);
    expect(requestsOf(server, 'list', 'pods')).toHaveLength(3);
  });
});

describe('the API server down for a while', () => {
  for (const mode of ['refuse', 'unavailable'] as const) {
    it(`keeps the last state while down (${mode}), then catches up with what changed`, async () => {
      const { server, watch } = await started();
      const before = watch.state.snapshotInput();
      await server.setDown(true, mode);
      server.delete('pods', 'prod', 'web-2');
      server.create('namespaces', rawNamespace('new'));
      server.create('pods', rawPod('new', 'app', { labels: { app: 'new' }, ips: ['10.244.3.3'] }));
      modified(server, 'namespaces', undefined, 'prod', (ns) => {
        (ns.metadata.labels as Record<string, string>)['tier'] = 'gold';
      });
      await vi.waitFor(() => expect(watch.status().pods.restarts.error).toBeGreaterThanOrEqual(3));
      expect(watch.state.snapshotInput()).toEqual(before);

      await server.setDown(false);
      await expectConverged(cluster!);
      expect(requestsOf(server, 'list', 'pods')).toHaveLength(3);
    });
  }

  it('relists when the history was compacted while it was down', async () => {
    const { server, watch } = await started();
    await server.setDown(true, 'refuse');
    server.delete('pods', 'dev', 'tool');
    server.compact();
    await server.setDown(false);
    await expectConverged(cluster!);
    expect(watch.status().pods.restarts.expired).toBe(1);
  });
});

describe('an invalid object beside valid ones', () => {
  it('makes an invalid policy fail closed as the loader does, reports it, and takes its fix', async () => {
    const { server, watch, events } = await started();
    server.create('networkpolicies', rawPolicy('prod', 'broken', {
      podSelector: { matchExpressions: [{ key: 'app', operator: 'Within', values: ['web'] }] },
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
    }));
    server.create('pods', rawPod('prod', 'bad-label', { labels: { 'app/x/y': 'web' }, ips: ['10.244.1.99'] }));
    await expectConverged(cluster!);

    const broken = watch.state.snapshotInput().policies.find((p) => p.name === 'broken')!;
    expect(broken).toMatchObject({ ingress: [], egress: [], policyTypes: ['ingress'], source: '/apis/networking.k8s.io/v1/namespaces/prod/networkpolicies/broken' });
    expect(broken.errors[0]).toMatchObject({ object: 'NetworkPolicy prod/broken', field: 'spec.podSelector.matchExpressions[0].operator' });
    expect(watch.state.snapshotInput().pods.map((p) => p.name)).not.toContain('bad-label');
    expect(watch.state.problems().map((p) => p.object)).toEqual(['NetworkPolicy prod/broken', 'Pod prod/bad-label']);
    expect(events.filter((e) => e.type === 'object-invalid').map((e) => e.type === 'object-invalid' && e.object)).toEqual(['NetworkPolicy prod/broken', 'Pod prod/bad-label']);

    modified(server, 'networkpolicies', 'prod', 'broken', (p) => {
      spec(p)['podSelector'] = { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] };
    });
    await expectConverged(cluster!);
    expect(watch.state.problems().map((p) => p.object)).toEqual(['Pod prod/bad-label']);

    server.delete('pods', 'prod', 'bad-label');
    await expectConverged(cluster!);
    expect(watch.state.problems()).toEqual([]);
  });
});

describe('pod addresses', () => {
  it('takes an IP that appears after the pod (scheduled, then started)', async () => {
    const { server, watch, events } = await started();
    server.create('pods', rawPod('prod', 'starting', { labels: { app: 'web' } }));
    await expectConverged(cluster!);
    expect(watch.state.snapshotInput().pods.find((p) => p.name === 'starting')?.ips).toEqual([]);

    modified(server, 'pods', 'prod', 'starting', (pod) => {
      spec(pod)['nodeName'] = 'node-a';
      Object.assign(status(pod), { phase: 'Running', podIPs: [{ ip: '10.244.1.50' }, { ip: 'fd00:10:244:1::50' }] });
    });
    await expectConverged(cluster!);
    const upsert = events.filter((e) => e.type === 'pod-upsert' && e.pod.name === 'starting').at(-1);
    expect(upsert).toMatchObject({ pod: { ips: ['10.244.1.50', 'fd00:10:244:1::50'], nodeName: 'node-a' }, previous: { ips: [] } });
  });

  it('drops a pod that reached a terminal phase: its IP is released', async () => {
    const { server, watch, events } = await started();
    modified(server, 'pods', 'prod', 'web-1', (pod) => {
      status(pod)['phase'] = 'Succeeded';
    });
    await expectConverged(cluster!);
    expect(podEvents(events, 'web-1')).toEqual(['upsert', 'delete']);
    expect(buildSnapshot(watch.state.snapshotInput()).podByIP('10.244.1.5')).toBeUndefined();
    // Its later deletion changes nothing more.
    server.delete('pods', 'prod', 'web-1');
    await expectConverged(cluster!);
    expect(podEvents(events, 'web-1')).toEqual(['upsert', 'delete']);
  });

  it('gives a reused IP to the new pod, by watch and by relist alike', async () => {
    const { server, watch, events } = await started();
    modified(server, 'pods', 'prod', 'web-1', (pod) => {
      status(pod)['phase'] = 'Failed';
    });
    server.create('pods', rawPod('prod', 'web-1-replacement', { labels: { app: 'web' }, ips: ['10.244.1.5'] }));
    await expectConverged(cluster!);
    expect(buildSnapshot(watch.state.snapshotInput()).podByIP('10.244.1.5')?.name).toBe('web-1-replacement');

    // Missed while away: the relist removes the old holder before it adds the new one.
    server.dropConnections();
    server.delete('pods', 'prod', 'db');
    server.create('pods', rawPod('dev', 'db-successor', { ips: ['10.244.1.9'] }));
    server.compact();
    await expectConverged(cluster!);
    const order = events.flatMap((e) => (e.type === 'pod-delete' && e.pod.name === 'db' ? ['delete db'] : e.type === 'pod-upsert' && e.pod.name === 'db-successor' ? ['add successor'] : []));
    expect(order).toEqual(['delete db', 'add successor']);
    expect(buildSnapshot(watch.state.snapshotInput()).podByIP('10.244.1.9')?.name).toBe('db-successor');
  });
});
