// Connecting through a kubeconfig (its CA, token and context, read by @kubernetes/client-node), and the life of
// a cluster watch: synced, stopped.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadKubeConfig } from '../../src/kube/connection.js';
import { type ClusterWatch, watchCluster } from '../../src/kube/index.js';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { rawNamespace } from '../kube/objects.js';
import { generateCertificate } from '../kube/tls.js';
import { FAST_SERVER, FAST_TIMING } from '../kube/watched-cluster.js';

const silent = pino({ level: 'silent' });
let server: FakeApiServer | undefined;
let watch: ClusterWatch | undefined;
afterEach(async () => {
  await watch?.stop();
  watch = undefined;
  await server?.close();
  server = undefined;
});

describe('kubeconfig', () => {
  it('uses the named context rather than the current one', async () => {
    server = await startFakeApiServer(FAST_SERVER);
    server.create('namespaces', rawNamespace('prod'));
    const path = await writeKubeconfig([
      { name: 'elsewhere', server: 'https://127.0.0.1:1', caCertificate: server.caCertificate, token: 'wrong' },
      { name: 'fake', server: server.url, caCertificate: server.caCertificate, token: 'right' },
    ]);
    watch = watchCluster({ connection: { kind: 'kubeconfig', paths: [path], context: 'fake' }, logger: silent, timing: FAST_TIMING });
    await watch.synced();
    expect(watch.state.snapshotInput().namespaces.map((n) => n.name)).toEqual(['prod']);
    expect(new Set(server.requests.map((r) => r.authorization))).toEqual(new Set(['Bearer right']));
  });

  it('merges several files as kubectl does: the first to name a cluster, user or context wins', async () => {
    const ca = (await generateCertificate()).cert;
    const first = await writeKubeconfig([{ name: 'shared', server: 'https://first.example:6443', caCertificate: ca, token: 'one' }]);
    const second = await writeKubeconfig([
      { name: 'only-second', server: 'https://second.example:6443', caCertificate: ca },
      { name: 'shared', server: 'https://second.example:6443', caCertificate: ca, token: 'two' },
    ]);
    const config = loadKubeConfig({ kind: 'kubeconfig', paths: [first, second] });
    expect(config.getCurrentContext()).toBe('shared');
    expect(config.getCurrentCluster()?.server).toBe('https://first.example:6443');
    expect(config.getCurrentUser()?.token).toBe('one');
    expect(config.getContexts().map((c) => c.name).sort()).toEqual(['only-second', 'shared']);
    expect(loadKubeConfig({ kind: 'kubeconfig', paths: [second, first] }).getCurrentContext()).toBe('only-second');
  });

  it('refuses a context the kubeconfig does not have, naming it', async () => {
    server = await startFakeApiServer(FAST_SERVER);
    const path = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
    expect(() => watchCluster({ connection: { kind: 'kubeconfig', paths: [path], context: 'prod' }, logger: silent })).toThrow(`kubeconfig ${path}: no context named "prod"`);
  });

  it('does not trust a server whose certificate its CA did not sign', async () => {
    server = await startFakeApiServer(FAST_SERVER);
    const stranger = await generateCertificate();
    const path = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: stranger.cert }]);
    watch = watchCluster({ connection: { kind: 'kubeconfig', paths: [path] }, logger: silent, timing: FAST_TIMING });
    await vi.waitFor(() => expect(watch!.status().pods.listFailures).toBeGreaterThanOrEqual(2));
    expect(watch.state.synced).toBe(false);
    expect(server.requests).toEqual([]);
  });
});

describe('stop', () => {
  it('ends every watch, and nothing reaches the server or the state after it', async () => {
    server = await startFakeApiServer(FAST_SERVER);
    server.create('namespaces', rawNamespace('prod'));
    const path = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
    watch = watchCluster({ connection: { kind: 'kubeconfig', paths: [path] }, logger: silent, timing: FAST_TIMING });
    await watch.synced();
    await vi.waitFor(() => expect(server!.openWatches()).toBe(3));
    await watch.stop();
    await vi.waitFor(() => expect(server!.openWatches()).toBe(0));
    const requests = server.requests.length;
    server.create('namespaces', rawNamespace('after'));
    server.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.requests.length).toBe(requests);
    expect(watch.state.snapshotInput().namespaces.map((n) => n.name)).toEqual(['prod']);
  });

  it('rejects synced() when stopped before the first sync', async () => {
    server = await startFakeApiServer(FAST_SERVER);
    await server.setDown(true, 'unavailable');
    const path = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
    watch = watchCluster({ connection: { kind: 'kubeconfig', paths: [path] }, logger: silent, timing: FAST_TIMING });
    const synced = watch.synced();
    await vi.waitFor(() => expect(watch!.status().namespaces.listFailures).toBeGreaterThanOrEqual(1));
    await watch.stop();
    await expect(synced).rejects.toThrow('stopped before it synced');
  });
});
