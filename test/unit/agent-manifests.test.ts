import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptManifests, clusterFromManifests, type ManifestFileRead, readManifestDirectory } from '../../src/agent/manifests.js';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS } from '../../src/model/index.js';

const options = { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS };

const DEFAULT_DENY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny, namespace: prod }
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`;
const ALLOW_DB = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: allow-db, namespace: prod }
spec:
  podSelector: { matchLabels: { app: db } }
  ingress:
  - from: [{ podSelector: { matchLabels: { app: web } } }]
`;
const WEB_POD = `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: prod, labels: { app: web } }
spec: { nodeName: node-a, containers: [{ name: web, image: nginx }] }
status: { podIPs: [{ ip: 10.244.1.5 }] }
`;

const text = (path: string, content: string): ManifestFileRead => ({ path, text: content });
const policyNames = (accepted: ReadonlyMap<string, string>) =>
  clusterFromManifests({ accepted, rejected: [] }, options).policies.map((p) => `${p.namespace}/${p.name}${p.errors.length > 0 ? ' (fails closed)' : ''}`);

describe('acceptManifests: a file that stops loading must not open anything', () => {
  const first = acceptManifests(new Map(), [text('/m/policies.yaml', `${DEFAULT_DENY}---\n${ALLOW_DB}`), text('/m/pods.yaml', WEB_POD)], options);

  it('takes files that load', () => {
    expect(first.rejected).toEqual([]);
    expect([...first.accepted.keys()]).toEqual(['/m/pods.yaml', '/m/policies.yaml']);
    expect(policyNames(first.accepted)).toEqual(['prod/allow-db', 'prod/default-deny']);
  });

  it('keeps the last good text of a file with a YAML syntax error, default-deny included', () => {
    const typo = `${DEFAULT_DENY}---\n${ALLOW_DB}  - to: [ {\n`;
    const next = acceptManifests(first.accepted, [text('/m/policies.yaml', typo), text('/m/pods.yaml', WEB_POD)], options);
    expect(next.accepted.get('/m/policies.yaml')).toBe(first.accepted.get('/m/policies.yaml'));
    expect(next.rejected).toHaveLength(1);
    expect(next.rejected[0]).toMatchObject({ path: '/m/policies.yaml', keptLastGood: true });
    expect(next.rejected[0]?.errors.map((e) => e.message).join('\n')).toMatch(/YAML syntax error/);
    expect(policyNames(next.accepted)).toEqual(['prod/allow-db', 'prod/default-deny']);
  });

  it('takes the new text once it loads again', () => {
    const typo = acceptManifests(first.accepted, [text('/m/policies.yaml', 'kind: [')], options);
    const fixed = acceptManifests(typo.accepted, [text('/m/policies.yaml', DEFAULT_DENY)], options);
    expect(fixed.rejected).toEqual([]);
    expect(policyNames(fixed.accepted)).toEqual(['prod/default-deny']);
  });

  it('takes an invalid policy, which arrives failing closed', () => {
    const badCidr = ALLOW_DB.replace('- from: [{ podSelector: { matchLabels: { app: web } } }]', '- from: [{ ipBlock: { cidr: 10.0.0.0/33 } }]');
    const next = acceptManifests(first.accepted, [text('/m/policies.yaml', badCidr), text('/m/pods.yaml', WEB_POD)], options);
    expect(next.rejected).toEqual([]);
    expect(policyNames(next.accepted)).toEqual(['prod/allow-db (fails closed)']);
  });

  it('keeps the last good text of a file whose pod stops validating (a vanished pod would be unisolated)', () => {
    const badLabel = WEB_POD.replace('app: web', 'app: "not valid!"');
    const next = acceptManifests(first.accepted, [text('/m/policies.yaml', DEFAULT_DENY), text('/m/pods.yaml', badLabel)], options);
    expect(next.accepted.get('/m/pods.yaml')).toBe(WEB_POD);
    expect(next.rejected).toMatchObject([{ path: '/m/pods.yaml', keptLastGood: true }]);
    expect(next.rejected[0]?.errors[0]?.object).toBe('Pod prod/web');
  });

  it('keeps the last good text of a file that cannot be read', () => {
    const next = acceptManifests(first.accepted, [{ path: '/m/policies.yaml', unreadable: 'cannot read: EACCES: permission denied' }], options);
    expect(next.accepted.get('/m/policies.yaml')).toBe(first.accepted.get('/m/policies.yaml'));
    expect(next.rejected).toMatchObject([{ path: '/m/policies.yaml', keptLastGood: true, errors: [{ message: 'cannot read: EACCES: permission denied' }] }]);
  });

  it('drops a deleted file', () => {
    const next = acceptManifests(first.accepted, [text('/m/pods.yaml', WEB_POD)], options);
    expect([...next.accepted.keys()]).toEqual(['/m/pods.yaml']);
    expect(policyNames(next.accepted)).toEqual([]);
  });

  it('uses the valid objects of a broken file it has never seen load, and says so', () => {
    const broken = `${DEFAULT_DENY}---\nkind: [\n`;
    const next = acceptManifests(new Map(), [text('/m/new.yaml', broken)], options);
    expect(next.rejected).toMatchObject([{ path: '/m/new.yaml', keptLastGood: false }]);
    expect(policyNames(next.accepted)).toEqual(['prod/default-deny']);
  });
});

describe('readManifestDirectory', () => {
  let directory: string | undefined;
  afterEach(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
    directory = undefined;
  });

  it('reads .yaml, .yml and .json files recursively and nothing else', async () => {
    directory = await mkdtemp(join(tmpdir(), 'bulkhead-manifests-'));
    await mkdir(join(directory, 'prod'));
    await writeFile(join(directory, 'a.yaml'), DEFAULT_DENY);
    await writeFile(join(directory, 'prod', 'b.YML'), WEB_POD);
    await writeFile(join(directory, 'c.json'), '{}');
    await writeFile(join(directory, 'a.yaml.swp'), 'editor junk');
    await writeFile(join(directory, 'README'), 'not a manifest');
    await symlink(join(directory, 'prod'), join(directory, 'linked.yaml'));
    const files = await readManifestDirectory(directory);
    expect(files.map((f) => f.path).sort()).toEqual([join(directory, 'a.yaml'), join(directory, 'c.json'), join(directory, 'prod', 'b.YML')]);
  });

  it('rejects a manifests directory that does not exist', async () => {
    await expect(readManifestDirectory('/nonexistent/bulkhead/manifests')).rejects.toThrow(/no such file or directory/);
  });
});
