import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bindingsFromCache, parseCniCacheFile, readCniCache } from '../../src/node/cni-cache.js';

// What Flannel's `cbr0` network leaves on a node: flannel delegates to the bridge plugin, whose result lists the
// bridge, the host-side veth and the pod's eth0; kubelet (via containerd's go-cni) passes the pod in cniArgs.
const FLANNEL_CONFIG = Buffer.from(
  JSON.stringify({
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }),
).toString('base64');

interface PodSandbox {
  containerId: string;
  namespace: string;
  pod: string;
  veth: string;
  addresses: string[];
  ifName?: string;
}

function flannelCacheFile(sandbox: PodSandbox): string {
  const netns = `/var/run/netns/cni-${sandbox.containerId.slice(0, 8)}`;
  return JSON.stringify({
    kind: 'cniCacheV1',
    containerId: sandbox.containerId,
    config: FLANNEL_CONFIG,
    ifName: sandbox.ifName ?? 'eth0',
    networkName: 'cbr0',
    netns,
    cniArgs: [
      ['K8S_POD_INFRA_CONTAINER_ID', sandbox.containerId],
      ['K8S_POD_UID', '2b9c1f4e-52a4-4c1e-9a53-0d6c1f1e7a11'],
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', sandbox.namespace],
      ['K8S_POD_NAME', sandbox.pod],
    ],
    capabilityArgs: { portMappings: [] },
    result: {
      cniVersion: '0.3.1',
      interfaces: [
        { name: 'cni0', mac: '3e:0b:4c:1a:2f:71' },
        { name: sandbox.veth, mac: 'ba:9d:1e:7f:22:04' },
        { name: sandbox.ifName ?? 'eth0', mac: '82:5a:c3:11:90:3b', sandbox: netns },
      ],
      ips: sandbox.addresses.map((address) => ({
        version: address.includes(':') ? '6' : '4',
        interface: 2,
        address,
        gateway: address.includes(':') ? 'fd00:10:244:1::1' : '10.244.1.1',
      })),
      routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }],
      dns: {},
    },
  });
}

// containerd's own loopback attachment: cached too, with the pod's cniArgs, but nothing on the host side.
const LOOPBACK = JSON.stringify({
  kind: 'cniCacheV1',
  containerId: 'c0ffee',
  config: Buffer.from('{"cniVersion":"1.0.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}').toString('base64'),
  ifName: 'lo',
  networkName: 'cni-loopback',
  netns: '/var/run/netns/cni-c0ffee',
  cniArgs: [['K8S_POD_NAMESPACE', 'prod'], ['K8S_POD_NAME', 'web']],
  result: {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: '/var/run/netns/cni-c0ffee' }],
    ips: [{ interface: 0, address: '127.0.0.1/8' }, { interface: 0, address: '::1/128' }],
  },
});

const web = { containerId: '4f3c9a7e1d2b', namespace: 'prod', pod: 'web-7d4b9c-x2x9k', veth: 'veth3a4b5c6d', addresses: ['10.244.1.5/24'] };

describe('parseCniCacheFile', () => {
  it('reads the pod, its host-side veth (not the bridge) and its address from a Flannel cbr0 result', () => {
    expect(parseCniCacheFile(flannelCacheFile(web))).toEqual({
      kind: 'attachment',
      containerId: '4f3c9a7e1d2b',
      binding: { namespace: 'prod', name: 'web-7d4b9c-x2x9k', hostIfname: 'veth3a4b5c6d', ips: ['10.244.1.5'] },
    });
  });

  it('reads both families of a dual-stack pod, in canonical text', () => {
    const entry = parseCniCacheFile(flannelCacheFile({ ...web, addresses: ['10.244.1.5/24', 'FD00:10:244:1:0::5/64'] }));
    expect(entry.kind === 'attachment' && entry.binding.ips).toEqual(['10.244.1.5', 'fd00:10:244:1::5']);
  });

  it('reads a ptp result, which has no bridge: the host veth is the one interface outside the sandbox', () => {
    const ptp = JSON.parse(flannelCacheFile(web));
    ptp.result.interfaces = ptp.result.interfaces.slice(1);
    ptp.result.ips[0].interface = 1;
    const entry = parseCniCacheFile(JSON.stringify(ptp));
    expect(entry.kind === 'attachment' && entry.binding).toEqual({
      namespace: 'prod', name: 'web-7d4b9c-x2x9k', hostIfname: 'veth3a4b5c6d', ips: ['10.244.1.5'],
    });
  });

  it('skips addresses of a host-side interface', () => {
    const withHostAddress = JSON.parse(flannelCacheFile(web));
    withHostAddress.result.ips.push({ interface: 0, address: '10.244.1.1/24' });
    const entry = parseCniCacheFile(JSON.stringify(withHostAddress));
    expect(entry.kind === 'attachment' && entry.binding.ips).toEqual(['10.244.1.5']);
  });

  it('binds nothing for a loopback attachment', () => {
    expect(parseCniCacheFile(LOOPBACK)).toEqual({ kind: 'no-host-interface' });
  });

  it.each([
    ['not JSON', '{"kind":"cniCacheV1",', /^not JSON/],
    ['JSON but not an object', '[1,2]', /not "cniCacheV1"/],
    ['JSON null', 'null', /not a JSON object/],
    ['a legacy cache (a bare result)', JSON.stringify({ cniVersion: '0.3.1', interfaces: [], ips: [] }), /kind is undefined/],
    ['no pod in cniArgs', flannelCacheFile(web).replace('K8S_POD_NAME"', 'K8S_OTHER"'), /K8S_POD_NAME/],
    ['no containerId', flannelCacheFile({ ...web, containerId: '' }), /containerId/],
    ['a garbage address', flannelCacheFile({ ...web, addresses: ['10.244.1/24'] }), /result\.ips\[0\]\.address/],
    ['an octal-looking address', flannelCacheFile({ ...web, addresses: ['010.244.1.5/24'] }), /result\.ips\[0\]\.address/],
  ])('says what is wrong with %s', (_, text, message) => {
    const entry = parseCniCacheFile(text);
    expect(entry.kind).toBe('invalid');
    expect(entry.kind === 'invalid' && entry.message).toMatch(message);
  });
});

describe('bindingsFromCache', () => {
  const file = (path: string, text: string, mtimeMs = 1_000) => ({ path, text, mtimeMs });

  it('binds every pod, skips loopback files quietly, and warns about garbage naming the file', () => {
    const db = { containerId: 'aa11bb22cc33', namespace: 'prod', pod: 'db-0', veth: 'veth0c0d0e0f', addresses: ['10.244.1.6/24'] };
    const reading = bindingsFromCache([
      file('/r/cbr0-4f3c9a7e1d2b-eth0', flannelCacheFile(web)),
      file('/r/cni-loopback-c0ffee-lo', LOOPBACK),
      file('/r/cbr0-aa11bb22cc33-eth0', flannelCacheFile(db)),
      file('/r/cbr0-deadbeef-eth0', '{"kind":"cniCacheV1","containerId":'),
    ]);
    expect(reading.bindings).toEqual([
      { namespace: 'prod', name: 'db-0', hostIfname: 'veth0c0d0e0f', ips: ['10.244.1.6'] },
      { namespace: 'prod', name: 'web-7d4b9c-x2x9k', hostIfname: 'veth3a4b5c6d', ips: ['10.244.1.5'] },
    ]);
    expect(reading.warnings).toEqual([{ path: '/r/cbr0-deadbeef-eth0', message: expect.stringMatching(/^not JSON/) }]);
  });

  it('takes the newest sandbox of a pod when an old one left its file behind, and says so', () => {
    const recreated = { ...web, containerId: '9e8d7c6b5a40', veth: 'veth99887766', addresses: ['10.244.1.9/24'] };
    const reading = bindingsFromCache([
      file('/r/cbr0-9e8d7c6b5a40-eth0', flannelCacheFile(recreated), 2_000),
      file('/r/cbr0-4f3c9a7e1d2b-eth0', flannelCacheFile(web), 1_000),
    ]);
    expect(reading.bindings).toEqual([{ namespace: 'prod', name: 'web-7d4b9c-x2x9k', hostIfname: 'veth99887766', ips: ['10.244.1.9'] }]);
    expect(reading.warnings).toEqual([
      { path: '/r/cbr0-4f3c9a7e1d2b-eth0', message: 'an older sandbox of pod prod/web-7d4b9c-x2x9k than /r/cbr0-9e8d7c6b5a40-eth0; ignored' },
    ]);
  });

  it('keeps every interface of one sandbox (a pod on two networks)', () => {
    const second = { ...web, veth: 'veth55443322', addresses: ['192.168.7.5/24'], ifName: 'net1' };
    const reading = bindingsFromCache([
      file('/r/cbr0-4f3c9a7e1d2b-eth0', flannelCacheFile(web)),
      file('/r/macvlan-4f3c9a7e1d2b-net1', flannelCacheFile(second)),
    ]);
    expect(reading.bindings.map((b) => b.hostIfname)).toEqual(['veth3a4b5c6d', 'veth55443322']);
    expect(reading.warnings).toEqual([]);
  });
});

describe('readCniCache', () => {
  let directory: string | undefined;
  afterEach(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
    directory = undefined;
  });

  it('reads the files of the directory with their modification times', async () => {
    directory = await mkdtemp(join(tmpdir(), 'bulkhead-cni-'));
    const old = join(directory, 'cbr0-4f3c9a7e1d2b-eth0');
    await writeFile(old, flannelCacheFile(web));
    await utimes(old, 1_000, 1_000);
    await writeFile(join(directory, 'cbr0-9e8d7c6b5a40-eth0'), flannelCacheFile({ ...web, containerId: '9e8d7c6b5a40', veth: 'vethnew' }));
    await writeFile(join(directory, 'cbr0-0000-eth0'), 'garbage');
    const reading = await readCniCache(directory);
    expect(reading.bindings.map((b) => b.hostIfname)).toEqual(['vethnew']);
    expect(reading.warnings.map((w) => w.path).sort()).toEqual([join(directory, 'cbr0-0000-eth0'), old].sort());
  });

  it('reads a missing directory as an empty cache', async () => {
    expect(await readCniCache('/nonexistent/bulkhead/cni/results')).toEqual({ bindings: [], warnings: [] });
  });
});
