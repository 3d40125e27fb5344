// The fake API server's writes over HTTP (what lab-cli apply sends) and its unix socket (what the lab's forwarders
// connect to), and kubectl apply over both: another process must see and change the same cluster a test does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyObjects, LAST_APPLIED, localStore, readManifestObjects } from '../kube/apply.js';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { openWatch } from '../kube/http-client.js';
import { latestResourceVersion, remoteStore } from '../kube/remote-store.js';

let server: FakeApiServer;
let dir: string;
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<{ socketPath: string; caCertificate: string }> {
  dir = await mkdtemp(join(tmpdir(), 'bulkhead-fake-apiserver-'));
  server = await startFakeApiServer({ unixSocketPath: join(dir, 'api.sock'), bookmarkIntervalMs: 50 });
  return { socketPath: join(dir, 'api.sock'), caCertificate: server.caCertificate };
}

const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny, namespace: prod }
spec: { podSelector: {} }
`;

describe('writes over HTTP, on the unix socket', () => {
  it('creates, replaces and deletes as the API server does, and watchers on TCP see each change', async () => {
    const remote = await start();
    const store = remoteStore(remote);
    const watch = openWatch(server, '/apis/networking.k8s.io/v1/networkpolicies?watch=1');
    const object = readManifestObjects(POLICY, 'policy.yaml')[0]!.object;
    const created = await store.create('networkpolicies', object);
    expect(created.metadata).toMatchObject({ name: 'deny', namespace: 'prod', generation: 1, resourceVersion: String(server.resourceVersion) });
    expect(created['spec']).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    await expect(store.create('networkpolicies', object)).rejects.toThrow(/409 networkpolicies "deny" already exists/);
    const updated = await store.update('networkpolicies', { ...object, spec: { podSelector: { matchLabels: { app: 'db' } } } });
    expect(updated.metadata).toMatchObject({ uid: created.metadata.uid, generation: 2 });
    await store.delete('networkpolicies', 'prod', 'deny');
    expect(await store.get('networkpolicies', 'prod', 'deny')).toBeUndefined();
    await expect(store.update('networkpolicies', object)).rejects.toThrow(/404/);
    expect(await latestResourceVersion(remote)).toBe(server.resourceVersion);
    await new Promise((resolve) => setTimeout(resolve, 50));
    watch.close();
    expect(watch.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(server.requests.filter((r) => r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch').map((r) => `${r.verb} ${r.status}`)).toEqual([
      'create 201',
      'create 409',
      'update 200',
      'delete 200',
      'update 404',
    ]);
  });

  it('refuses on the socket too while down, and serves there again when up', async () => {
    const remote = await start();
    await server.setDown(true, 'refuse');
    await expect(remoteStore(remote).get('namespaces', undefined, 'prod')).rejects.toThrow(/ENOENT|ECONNREFUSED/);
    server.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod' } });
    await server.setDown(false);
    expect((await remoteStore(remote).get('namespaces', undefined, 'prod'))?.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'prod' });
  });
});

describe('kubectl apply', () => {
  it('creates, leaves alone what did not change, and replaces what did, keeping the last applied configuration', async () => {
    await start();
    const store = localStore(server);
    const first = await applyObjects(store, readManifestObjects(POLICY, 'policy.yaml'));
    expect(first).toEqual([{ resource: 'networkpolicies', key: 'prod/deny', action: 'created', resourceVersion: String(server.resourceVersion) }]);
    expect((await applyObjects(store, readManifestObjects(POLICY, 'policy.yaml')))[0]?.action).toBe('unchanged');
    const changed = POLICY.replace('podSelector: {}', 'podSelector: { matchLabels: { app: db } }');
    expect((await applyObjects(store, readManifestObjects(changed, 'policy.yaml')))[0]?.action).toBe('configured');
    const stored = server.get('networkpolicies', 'prod', 'deny')!;
    expect(JSON.parse((stored.metadata['annotations'] as Record<string, string>)[LAST_APPLIED]!)).toMatchObject({ spec: { podSelector: { matchLabels: { app: 'db' } } } });
  });

  it('reads several documents and Lists, defaults the namespace, and names what it cannot read', () => {
    const text = `${POLICY}---\napiVersion: v1\nkind: List\nitems:\n  - { apiVersion: v1, kind: Namespace, metadata: { name: prod } }\n  - { apiVersion: v1, kind: Pod, metadata: { name: web } }\n`;
    expect(readManifestObjects(text, 'all.yaml').map((o) => `${o.resource} ${o.object.metadata.namespace ?? ''}/${o.object.metadata.name}`)).toEqual([
      'networkpolicies prod/deny',
      'namespaces /prod',
      'pods default/web',
    ]);
    expect(() => readManifestObjects('apiVersion: v1\nkind: Service\nmetadata: { name: s }\n', 'svc.yaml')).toThrow(/svc.yaml document 1: kind "Service" is none of/);
  });
});
