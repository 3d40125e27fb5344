import { describe, expect, it } from 'vitest';
import { addressAt, hasHostBits, ipFamily, isStrictSubnet, networkText, parsedIP, readCidr, readIP } from '../../src/model/addresses.js';
import { assignAddresses, DEFAULT_NODE_CIDRS, DEFAULT_POD_CIDRS } from '../../src/model/assign-addresses.js';
import type { Pod } from '../../src/model/types.js';

const cidr = (text: string) => {
  const read = readCidr(text);
  if (!read.cidr) throw new Error(`${text}: ${read.error}`);
  return read.cidr;
};

describe('IP addresses', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', 'ipv4'],
    ['0.0.0.0', '0.0.0.0', 'ipv4'],
    ['2001:db8::1', '2001:db8::1', 'ipv6'],
    ['FD00:0:0::0A', 'fd00::a', 'ipv6'],
    ['fd00:0010:0244::', 'fd00:10:244::', 'ipv6'],
  ])('reads %j as %j', (text, ip, family) => {
    expect(readIP(text)).toEqual({ ip, family });
  });

  it.each([
    ['010.0.0.1', 'must not have leading 0s'],
    ['::ffff:10.0.0.1', 'must not be an IPv4-mapped IPv6 address'],
    ['10.1', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ['0x0a.0.0.1', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ['256.0.0.1', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ['fe80::1%eth0', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ['1:2:3:4:5:6:7:8:9', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    ['', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
  ])('rejects %j: %s', (text, error) => {
    expect(readIP(text)).toEqual({ error });
  });

  it('tells the family an address is matched as: IPv4-mapped IPv6 is IPv4, asked once or again', () => {
    const addresses = ['10.0.0.1', 'fd00::a', '::ffff:10.0.0.1', '::', '0.0.0.0'];
    const families = [4, 6, 4, 6, 4];
    expect(addresses.map(ipFamily)).toEqual(families);
    expect(addresses.map(ipFamily)).toEqual(families);
    expect(parsedIP('::ffff:10.0.0.1').toString()).toBe('10.0.0.1');
  });
});

describe('CIDRs', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8', false],
    ['0.0.0.0/0', '0.0.0.0/0', false],
    ['8.8.8.8/32', '8.8.8.8/32', false],
    ['10.0.0.1/24', '10.0.0.1/24', true],
    ['FD00::/48', 'fd00::/48', false],
    ['::/0', '::/0', false],
    ['2001:db8::1/64', '2001:db8::1/64', true],
  ])('reads %j as %j (host bits: %s)', (text, canonical, hostBits) => {
    const read = cidr(text);
    expect(read.text).toBe(canonical);
    expect(hasHostBits(read)).toBe(hostBits);
  });

  it('names the network a CIDR with host bits means', () => {
    expect(networkText(cidr('10.0.0.1/24'))).toBe('10.0.0.0/24');
  });

  it.each([
    ['10.0.0.0', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['10.0.0.0/33', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['fd00::/129', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['10.0.0.0/8/8', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['10.0.0.0/-1', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['10.0.0.0/ 8', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    [' 10.0.0.0/8', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['10.0.0/8', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['010.0.0.0/8', 'must not have leading 0s in IP or prefix length'],
    ['10.0.0.0/08', 'must not have leading 0s in IP or prefix length'],
    ['::ffff:10.0.0.0/104', 'must not have an IPv4-mapped IPv6 address'],
  ])('rejects %j: %s', (text, error) => {
    expect(readCidr(text)).toEqual({ error });
  });

  it.each([
    ['10.0.1.0/24', '10.0.0.0/16', true],
    ['10.0.0.0/17', '10.0.0.0/16', true],
    ['10.0.0.0/16', '10.0.0.0/16', false],
    ['10.0.0.0/8', '10.0.0.0/16', false],
    ['11.0.0.0/24', '10.0.0.0/16', false],
    ['10.0.0.5/32', '10.0.0.1/24', true],
    ['fd00::/64', 'fd00::/48', true],
    ['::/128', '0.0.0.0/0', false],
    ['0.0.0.0/32', '::/0', false],
  ])('%s strictly inside %s: %s', (inner, outer, expected) => {
    expect(isStrictSubnet(cidr(inner), cidr(outer))).toBe(expected);
  });

  it.each([
    ['10.244.0.0/16', 10n, '10.244.0.10'],
    ['10.244.0.0/16', 256n, '10.244.1.0'],
    ['10.244.0.0/16', 65535n, '10.244.255.255'],
    ['10.244.0.0/16', 65536n, undefined],
    ['10.244.3.7/16', 0n, '10.244.0.0'],
    ['fd00:10:244::/48', 10n, 'fd00:10:244::a'],
    ['fd00:10:244::/48', 65536n, 'fd00:10:244::1:0'],
  ])('address %s + %d is %s', (text, offset, expected) => {
    expect(addressAt(cidr(text), offset)).toBe(expected);
  });
});

describe('address assignment', () => {
  const ranges = { podCidrs: DEFAULT_POD_CIDRS.map(cidr), nodeCidrs: DEFAULT_NODE_CIDRS.map(cidr) };
  const pod = (namespace: string, name: string, extra: Partial<Pod> = {}): Pod => ({
    namespace,
    name,
    labels: {},
    ips: [],
    hostNetwork: false,
    ports: [],
    ...extra,
  });
  const ipsOf = (pods: readonly Pod[]) => Object.fromEntries(pods.map((p) => [`${p.namespace}/${p.name}`, p.ips]));

  it('hands out one address per family from .10 on, in namespace/name order', () => {
    const { pods, errors } = assignAddresses([pod('b', 'x'), pod('a', 'z'), pod('a', 'y')], ranges);
    expect(errors).toEqual([]);
    expect(ipsOf(pods)).toEqual({
      'a/y': ['10.244.0.10', 'fd00:10:244::a'],
      'a/z': ['10.244.0.11', 'fd00:10:244::b'],
      'b/x': ['10.244.0.12', 'fd00:10:244::c'],
    });
    expect(pods.map((p) => p.name)).toEqual(['y', 'z', 'x']);
  });

  it('does not depend on the order pods come in', () => {
    const pods = [pod('a', 'p1'), pod('a', 'p2'), pod('b', 'p1'), pod('c', 'p0')];
    const forward = assignAddresses(pods, ranges).pods;
    const backward = assignAddresses([...pods].reverse(), ranges).pods;
    expect(backward).toEqual(forward);
  });

  it('keeps given addresses and skips them when handing out', () => {
    const { pods } = assignAddresses(
      [pod('a', 'given', { ips: ['10.244.0.11'] }), pod('a', 'one'), pod('a', 'two'), pod('a', 'three')],
      ranges,
    );
    expect(ipsOf(pods)).toEqual({
      'a/given': ['10.244.0.11'],
      'a/one': ['10.244.0.10', 'fd00:10:244::a'],
      'a/three': ['10.244.0.12', 'fd00:10:244::b'],
      'a/two': ['10.244.0.13', 'fd00:10:244::c'],
    });
  });

  it('hands out only the families of the ranges given', () => {
    const { pods } = assignAddresses([pod('a', 'p')], { podCidrs: [cidr('fd00::/64')], nodeCidrs: [] });
    expect(pods[0]?.ips).toEqual(['fd00::a']);
  });

  it('moves on to the next range of a family when one is full', () => {
    const small = { podCidrs: [cidr('10.0.0.0/28'), cidr('10.1.0.0/28')], nodeCidrs: [] };
    const { pods, errors } = assignAddresses([1, 2, 3, 4, 5, 6].map((n) => pod('a', `p${n}`)), small);
    expect(errors).toEqual([]);
    expect(pods.map((p) => p.ips[0])).toEqual(['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14', '10.1.0.10']);
  });

  it('reports a pod for which no address is left, and keeps it', () => {
    const tiny = { podCidrs: [cidr('10.0.0.0/28')], nodeCidrs: [] };
    const { pods, errors } = assignAddresses([1, 2, 3, 4, 5, 6].map((n) => pod('a', `p${n}`)), tiny);
    expect(pods).toHaveLength(6);
    expect(pods[5]?.ips).toEqual([]);
    expect(errors).toEqual([{ object: 'Pod a/p6', field: '', message: 'no free ipv4 address left in 10.0.0.0/28' }]);
  });

  it('gives hostNetwork pods their node address, shared by the pods of one node', () => {
    const { pods } = assignAddresses(
      [
        pod('kube-system', 'proxy-a', { hostNetwork: true, nodeName: 'node-a' }),
        pod('kube-system', 'proxy-b', { hostNetwork: true, nodeName: 'node-b' }),
        pod('monitoring', 'exporter-a', { hostNetwork: true, nodeName: 'node-a' }),
        pod('default', 'unscheduled', { hostNetwork: true }),
        pod('default', 'web'),
      ],
      ranges,
    );
    expect(ipsOf(pods)).toEqual({
      'default/unscheduled': ['172.18.0.10', 'fd00:172:18::a'],
      'default/web': ['10.244.0.10', 'fd00:10:244::a'],
      'kube-system/proxy-a': ['172.18.0.11', 'fd00:172:18::b'],
      'kube-system/proxy-b': ['172.18.0.12', 'fd00:172:18::c'],
      'monitoring/exporter-a': ['172.18.0.11', 'fd00:172:18::b'],
    });
  });

  it('reuses the address a hostNetwork pod of the node was given', () => {
    const { pods } = assignAddresses(
      [
        pod('z', 'given', { hostNetwork: true, nodeName: 'node-a', ips: ['192.168.1.5'] }),
        pod('a', 'other', { hostNetwork: true, nodeName: 'node-a' }),
      ],
      ranges,
    );
    expect(ipsOf(pods)).toEqual({ 'a/other': ['192.168.1.5'], 'z/given': ['192.168.1.5'] });
  });
});
