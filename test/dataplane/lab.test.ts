// The network-namespace lab that every real-packet test stands on, proved with real packets: it must connect what
// a Flannel cluster connects, tell a refusal from silence, push bridged traffic through the inet forward hook,
// speak enough SCTP for conntrack, masquerade to the outside, and leave nothing behind.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCniCacheFile } from '../../src/node/cni-cache.js';
import { createLab, destroyAll, type Lab, type LabPod, type LabProcess, type Proto } from '../lab/lab.js';
import { pidsIn, stateFile } from '../lab/state.js';

let lab: Lab;
let a1: LabPod; // node1
let a2: LabPod; // node1
let b1: LabPod; // node2
let sleeper: LabProcess;
const protos: readonly Proto[] = ['tcp', 'udp', 'sctp'];
const SERVED = 80;
const UNSERVED = 9;
const SHORT = { timeoutMs: 300 };

function netnsList(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mount) => mount.startsWith('/run/netns/'))
    .map((mount) => mount.slice('/run/netns/'.length));
}

function labNamespaces(prefix: string): string[] {
  return netnsList().filter((name) => name.startsWith(`${prefix}-`));
}

async function nft(node: string, ...args: string[]): Promise<string> {
  const result = await lab.exec(lab.node(node), ['nft', ...args]);
  if (result.code !== 0) throw new Error(`nft ${args.join(' ')} in ${node}: ${result.stderr}`);
  return result.stdout;
}

/** Applies an nft script in a node's namespace (as a file: nft cannot read a socket for stdin). */
async function nftScript(node: string, script: string): Promise<void> {
  const result = await lab.exec(lab.node(node), ['sh', '-c', 'f=$(mktemp) && cat > "$f" && nft -f "$f"; r=$?; rm -f "$f"; exit $r'], {
    input: script,
  });
  if (result.code !== 0) throw new Error(`nft script in ${node}: ${result.stderr}\n${script}`);
}

/** Neither gone nor a zombie waiting for its (new) parent to reap it. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function counterPackets(json: string, comment: string): number {
  const ruleset = JSON.parse(json) as { nftables: Array<{ rule?: { comment?: string; expr: Array<{ counter?: { packets: number } }> } }> };
  const rule = ruleset.nftables.find((entry) => entry.rule?.comment === comment)?.rule;
  const counter = rule?.expr.find((e) => e.counter !== undefined)?.counter;
  if (counter === undefined) throw new Error(`no counter rule with comment ${comment}`);
  return counter.packets;
}

beforeAll(async () => {
  lab = await createLab({ nodes: 2, outside: true });
  [a1, a2, b1] = await Promise.all([
    lab.addPod({ namespace: 'default', name: 'a1', node: 'node1', labels: { app: 'a' } }),
    lab.addPod({ namespace: 'default', name: 'a2', node: 'node1' }),
    lab.addPod({ namespace: 'other', name: 'b1', node: 'node2' }),
  ]);
  await Promise.all([a1, a2, b1].flatMap((pod) => protos.map((proto) => lab.startServer(pod, SERVED, proto))));
});

afterAll(async () => {
  const prefix = lab?.prefix;
  await lab?.destroy();
  if (prefix !== undefined) expect(labNamespaces(prefix)).toEqual([]);
});

describe('topology', () => {
  it('names every namespace with the lab prefix and marks the lab with a state file', () => {
    expect(lab.prefix).toMatch(/^bh[0-9a-f]{4}$/);
    expect(labNamespaces(lab.prefix).sort()).toEqual(
      [
        `${lab.prefix}-underlay`,
        `${lab.prefix}-node1`,
        `${lab.prefix}-node2`,
        `${lab.prefix}-outside`,
        `${lab.prefix}-default.a1`,
        `${lab.prefix}-default.a2`,
        `${lab.prefix}-other.b1`,
      ].sort(),
    );
    const state = JSON.parse(readFileSync(stateFile(lab.prefix), 'utf8')) as { pods: Array<{ name: string }> };
    expect(state.pods.map((p) => p.name).sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('gives pods addresses from their node’s pod CIDR, v4 and v6', () => {
    expect(a1.ipv4).toMatch(/^10\.244\.1\.\d+$/);
    expect(a1.ipv6).toMatch(/^fd00:10:244:1::[0-9a-f]+$/);
    expect(b1.ipv4).toMatch(/^10\.244\.2\.\d+$/);
    expect(b1.ipv6).toMatch(/^fd00:10:244:2::[0-9a-f]+$/);
    expect(new Set([a1.ipv4, a2.ipv4, b1.ipv4]).size).toBe(3);
    expect(a1.hostVeth).toMatch(/^veth[0-9a-f]{8}$/);
  });

  it('turns on forwarding and br_netfilter in every node', async () => {
    for (const node of lab.nodes) {
      const result = await lab.exec(node, [
        'sysctl',
        '-n',
        'net.ipv4.ip_forward',
        'net.ipv6.conf.all.forwarding',
        'net.bridge.bridge-nf-call-iptables',
        'net.bridge.bridge-nf-call-ip6tables',
      ]);
      expect(result.stdout.trim().split('\n')).toEqual(['1', '1', '1', '1']);
    }
  });

  it('builds flannel.1 as Flannel does: VNI 1, port 8472, nolearning, onlink routes, permanent neighbours, fdb', async () => {
    const node1 = lab.node('node1');
    const node2 = lab.node('node2');
    const link = await lab.exec(node1, ['ip', '-d', 'link', 'show', 'flannel.1']);
    expect(link.stdout).toContain('vxlan id 1');
    expect(link.stdout).toContain(`local ${node1.underlayIPv4}`);
    expect(link.stdout).toContain('dstport 8472');
    expect(link.stdout).toContain('nolearning');
    const routes = await lab.exec(node1, ['ip', 'route', 'show', node2.podCIDRv4]);
    expect(routes.stdout).toContain(`via ${node2.flannelIPv4} dev flannel.1 onlink`);
    const neigh = await lab.exec(node1, ['ip', 'neigh', 'show', node2.flannelIPv4, 'dev', 'flannel.1']);
    expect(neigh.stdout).toContain(`lladdr ${node2.flannelMAC} PERMANENT`);
    const fdb = await lab.exec(node1, ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
    expect(fdb.stdout).toContain(`${node2.flannelMAC} dst ${node2.underlayIPv4}`);
  });

  it('writes a libcni cache file per pod that names the pod, its host veth and its addresses', async () => {
    const text = readFileSync(a1.cniCacheFile, 'utf8');
    expect(a1.cniCacheFile).toBe(`${lab.node('node1').cniResultsDir}/cbr0-${a1.containerId}-eth0`);
    const cached = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(cached)).toEqual(['kind', 'containerId', 'config', 'ifName', 'networkName', 'netns', 'cniArgs', 'result']);
    expect(cached['cniArgs']).toEqual([
      ['K8S_POD_NAMESPACE', 'default'],
      ['K8S_POD_NAME', 'a1'],
      ['K8S_POD_INFRA_CONTAINER_ID', a1.containerId],
      ['K8S_POD_UID', a1.uid],
      ['IgnoreUnknown', '1'],
    ]);
    expect(JSON.parse(Buffer.from(String(cached['config']), 'base64').toString())).toMatchObject({ name: 'cbr0' });
    expect(parseCniCacheFile(text)).toEqual({
      kind: 'attachment',
      containerId: a1.containerId,
      binding: { namespace: 'default', name: 'a1', hostIfname: a1.hostVeth, ips: [a1.ipv4, a1.ipv6] },
    });
    // The veth it names is really the pod's, on cni0, with the MACs the file gives.
    const hostSide = await lab.exec(lab.node('node1'), ['ip', '-o', 'link', 'show', a1.hostVeth]);
    expect(hostSide.stdout).toContain('master cni0');
    expect(hostSide.stdout).toContain(a1.hostVethMAC);
    const podSide = await lab.exec(a1, ['ip', '-o', 'link', 'show', 'eth0']);
    expect(podSide.stdout).toContain(a1.podMAC);
  });
});

describe('connectivity', () => {
  const cases = [
    { path: 'same node', from: () => a1, to: () => a2 },
    { path: 'across nodes (VXLAN)', from: () => a1, to: () => b1 },
    { path: 'across nodes, back', from: () => b1, to: () => a2 },
  ];
  for (const { path, from, to } of cases) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      it(`${path}, ${family}: TCP, UDP and SCTP connect; a port without a server is refused`, async () => {
        const target = to()[family];
        const outcomes = await Promise.all(
          protos.flatMap((proto) => [lab.probe(from(), target, SERVED, proto), lab.probe(from(), target, UNSERVED, proto)]),
        );
        expect(outcomes).toEqual(['connected', 'refused', 'connected', 'refused', 'connected', 'refused']);
      });
    }
  }

  it('tells silence from refusal: an nft drop in the node makes every protocol time out', async () => {
    await nftScript(
      'node2',
      `table inet labtest_drop {
        chain forward {
          type filter hook forward priority 0; policy accept;
          ip daddr ${b1.ipv4} drop
          ip6 daddr ${b1.ipv6} drop
        }
      }`,
    );
    try {
      const outcomes = await Promise.all(
        protos.flatMap((proto) => [lab.probe(a1, b1.ipv4, SERVED, proto, SHORT), lab.probe(a1, b1.ipv6, UNSERVED, proto, SHORT)]),
      );
      expect(outcomes).toEqual(Array(6).fill('timeout'));
    } finally {
      await nft('node2', 'delete', 'table', 'inet', 'labtest_drop');
    }
    expect(await lab.probe(a1, b1.ipv4, SERVED, 'tcp')).toBe('connected');
  });

  it('servers see the real source of each connection', async () => {
    const server = await lab.startServer(b1, 8080, 'udp');
    expect(await lab.probe(a2, b1.ipv6, 8080, 'udp')).toBe('connected');
    expect(await lab.probe(a1, b1.ipv4, 8080, 'udp')).toBe('connected');
    expect(await server.peers()).toEqual([a2.ipv6, a1.ipv4]);
    await server.stop();
    expect(await lab.probe(a1, b1.ipv4, 8080, 'udp')).toBe('refused');
  });

  it('starts traffic only in its own namespaces', async () => {
    const root = { netns: 'not-a-lab-namespace', label: 'root' };
    await expect(lab.probe(root, a1.ipv4, SERVED, 'tcp')).rejects.toThrow(/not a namespace of lab/);
    await expect(lab.exec(root, ['true'])).rejects.toThrow(/not a namespace of lab/);
  });

  it('runs 50 probes in parallel, quickly', async () => {
    const pods = [a1, a2, b1];
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const from = pods[i % 3] as LabPod;
        const to = pods[(i + 1) % 3] as LabPod;
        return lab.probe(from, i % 2 === 0 ? to.ipv4 : to.ipv6, SERVED, protos[i % 3] as Proto);
      }),
    );
    const elapsedMs = performance.now() - started;
    expect(outcomes).toEqual(Array(50).fill('connected'));
    expect(elapsedMs).toBeLessThan(2_000);
  });
});

describe('the dataplane facts the enforcer relies on', () => {
  it('bridged traffic between two pods of one node passes the inet forward hook of the node (br_netfilter)', async () => {
    await nftScript(
      'node1',
      `table inet labtest_count {
        chain forward {
          type filter hook forward priority 0; policy accept;
          ip saddr ${a1.ipv4} ip daddr ${a2.ipv4} counter comment "v4"
          ip6 saddr ${a1.ipv6} ip6 daddr ${a2.ipv6} counter comment "v6"
          ip daddr ${a2.ipv4} oifname "cni0" counter comment "out-bridge"
        }
      }`,
    );
    try {
      expect(await lab.probe(a1, a2.ipv4, SERVED, 'tcp')).toBe('connected');
      expect(await lab.probe(a1, a2.ipv6, SERVED, 'udp')).toBe('connected');
      const table = await nft('node1', '-j', 'list', 'table', 'inet', 'labtest_count');
      expect(counterPackets(table, 'v4')).toBeGreaterThanOrEqual(2);
      expect(counterPackets(table, 'v6')).toBeGreaterThanOrEqual(1);
      // The output interface in the forward hook is the bridge, not the veth: pods are matched by IP.
      expect(counterPackets(table, 'out-bridge')).toBeGreaterThanOrEqual(2);
    } finally {
      await nft('node1', 'delete', 'table', 'inet', 'labtest_count');
    }
  });

  it('SCTP: a raw INIT gets an INIT-ACK across nodes that conntrack tracks and counts as established', async () => {
    // Only established replies may pass: if the INIT-ACK were not seen as the reply of the INIT, it would be dropped.
    const onlyReplies = (pod: LabPod) => `table inet labtest_sctp {
        chain forward {
          type filter hook forward priority 0; policy accept;
          ct state established,related counter accept
          ip saddr ${pod.ipv4} meta l4proto sctp drop
          ip6 saddr ${pod.ipv6} meta l4proto sctp drop
        }
      }`;
    await Promise.all([nftScript('node1', onlyReplies(b1)), nftScript('node2', onlyReplies(b1))]);
    try {
      expect(await lab.probe(a1, b1.ipv4, SERVED, 'sctp')).toBe('connected');
      expect(await lab.probe(a1, b1.ipv6, SERVED, 'sctp')).toBe('connected');
      for (const node of ['node1', 'node2']) {
        const tracked = await lab.exec(lab.node(node), ['conntrack', '-L', '-p', 'sctp']);
        expect(tracked.code).toBe(0);
        expect(tracked.stdout).toMatch(new RegExp(`src=${a1.ipv4} dst=${b1.ipv4} sport=\\d+ dport=${SERVED} src=${b1.ipv4} dst=${a1.ipv4}`));
        expect(tracked.stdout).toMatch(new RegExp(`src=${a1.ipv6} dst=${b1.ipv6} sport=\\d+ dport=${SERVED}`));
      }
    } finally {
      await Promise.all([nft('node1', 'delete', 'table', 'inet', 'labtest_sctp'), nft('node2', 'delete', 'table', 'inet', 'labtest_sctp')]);
    }
    expect(await (await lab.startServer(b1, 38412, 'sctp')).peers()).toEqual([]);
    expect(await lab.probe(a2, b1.ipv4, 38412, 'sctp')).toBe('connected');
  });

  it('a pod reaches the outside host masqueraded behind its node; the outside cannot reach pods', async () => {
    const outside = lab.outside;
    if (outside === undefined) throw new Error('the lab was built without its outside host');
    const server = await lab.startServer(outside, 443, 'tcp');
    for (const address of [...outside.ipv4, ...outside.ipv6]) {
      expect(await lab.probe(a1, address, 443, 'tcp'), address).toBe('connected');
    }
    expect(await lab.probe(b1, outside.ipv4[0] as string, 443, 'tcp')).toBe('connected');
    const node1 = lab.node('node1');
    const node2 = lab.node('node2');
    expect(await server.peers()).toEqual([
      ...outside.ipv4.map(() => node1.underlayIPv4),
      ...outside.ipv6.map(() => node1.underlayIPv6),
      node2.underlayIPv4,
    ]);
    expect(await lab.probe(outside, a1.ipv4, SERVED, 'tcp', SHORT)).not.toBe('connected');
    expect(await lab.probe(outside, a1.ipv6, SERVED, 'tcp', SHORT)).not.toBe('connected');
  });

  it('probes from an extra (spoofed) address of a pod carry that address', async () => {
    const spoofed4 = '10.244.1.250';
    const spoofed6 = 'fd00:10:244:1::fa';
    a1 = await lab.addSpoofedAddress(a1, spoofed4);
    a1 = await lab.addSpoofedAddress(a1, spoofed6);
    expect(a1.spoofedAddresses).toEqual([spoofed4, spoofed6]);
    const sameNode = await lab.startServer(a2, 7000, 'tcp');
    const otherNode = await lab.startServer(b1, 7000, 'udp');
    expect(await lab.probe(a1, a2.ipv4, 7000, 'tcp', { sourceIP: spoofed4 })).toBe('connected');
    expect(await lab.probe(a1, b1.ipv4, 7000, 'udp', { sourceIP: spoofed4 })).toBe('connected');
    expect(await lab.probe(a1, b1.ipv6, 7000, 'udp', { sourceIP: spoofed6 })).toBe('connected');
    expect(await lab.probe(a1, b1.ipv4, SERVED, 'sctp', { sourceIP: spoofed4 })).toBe('connected');
    expect(await sameNode.peers()).toEqual([spoofed4]);
    expect(await otherNode.peers()).toEqual([spoofed4, spoofed6]);
  });

  it('hostNetwork: servers and probes run in a node namespace too', async () => {
    const node1 = lab.node('node1');
    const server = await lab.startServer(node1, 10250, 'tcp');
    expect(await lab.probe(a1, node1.underlayIPv4, 10250, 'tcp')).toBe('connected');
    expect(await lab.probe(lab.node('node2'), b1.ipv4, SERVED, 'udp')).toBe('connected');
    expect(await lab.probe(node1, b1.ipv6, SERVED, 'tcp')).toBe('connected');
    expect(await server.peers()).toEqual([a1.ipv4]);
  });
});

describe('pods come and go while the lab runs', () => {
  it('adds a pod that is reachable at once, and deletes it without a trace', async () => {
    const node2 = lab.node('node2');
    const pod = await lab.addPod({ namespace: 'default', name: 'transient', node: 'node2' });
    await lab.startServer(pod, SERVED, 'tcp');
    expect(await lab.probe(a1, pod.ipv6, SERVED, 'tcp')).toBe('connected');
    expect(existsSync(pod.cniCacheFile)).toBe(true);

    await lab.deletePod(pod);
    expect(netnsList()).not.toContain(pod.netns);
    expect(existsSync(pod.cniCacheFile)).toBe(false);
    expect((await lab.exec(node2, ['ip', 'link', 'show', pod.hostVeth])).code).not.toBe(0);
    expect(lab.pods.map((p) => p.name)).not.toContain('transient');
    expect(await lab.probe(a1, pod.ipv4, SERVED, 'tcp', SHORT)).not.toBe('connected');
    expect(() => lab.pod('default', 'transient')).toThrow(/no pod/);
  });
});

describe('processes in nodes', () => {
  it('runs a long-lived process in the node namespace with its output in the lab directory', async () => {
    const node = lab.node('node2');
    sleeper = await lab.runInNode(node, ['sh', '-c', 'echo started; echo oops >&2; exec sleep 600'], { name: 'sleeper' });
    expect(readlinkSync(`/proc/${sleeper.pid}/ns/net`)).toBe(`net:[${statSync(`/run/netns/${node.netns}`).ino}]`);
    await expect.poll(() => readFileSync(sleeper.stdoutPath, 'utf8')).toBe('started\n');
    expect(readFileSync(sleeper.stderrPath, 'utf8')).toBe('oops\n');
    expect(sleeper.stdoutPath.startsWith(lab.dir)).toBe(true);
  });

  it('stop() ends it', async () => {
    const short = await lab.runInNode(lab.node('node1'), ['sleep', '600']);
    const exit = await short.stop();
    expect(exit.signal).toBe('SIGTERM');
  });
});

describe('cleanup', () => {
  it('destroyAll(prefix) removes a lab whose owner died without cleaning up', async () => {
    const { prefix } = await ownerThatDies('SIGKILL');
    expect(labNamespaces(prefix).length).toBeGreaterThan(0);
    expect(destroyAll(prefix)).toEqual([prefix]);
    expect(labNamespaces(prefix)).toEqual([]);
    expect(existsSync(stateFile(prefix))).toBe(false);
  });

  for (const death of ['throw', 'exit', 'SIGTERM', 'SIGINT'] as const) {
    it(`an owner that dies by ${death} takes its lab with it`, async () => {
      const { prefix, sleeperPid } = await ownerThatDies(death);
      expect(labNamespaces(prefix)).toEqual([]);
      expect(existsSync(stateFile(prefix))).toBe(false);
      await expect.poll(() => isRunning(sleeperPid)).toBe(false);
    });
  }

  it('destroy() kills every process and removes every namespace and file of the lab', async () => {
    const enginePid = (JSON.parse(readFileSync(stateFile(lab.prefix), 'utf8')) as { engine: { pid: number } }).engine.pid;
    const sleeperExit = sleeper.exited;
    await lab.destroy();
    expect(labNamespaces(lab.prefix)).toEqual([]);
    expect(existsSync(stateFile(lab.prefix))).toBe(false);
    expect(existsSync(lab.dir)).toBe(false);
    expect((await sleeperExit).signal).not.toBeNull();
    await expect.poll(() => isRunning(enginePid)).toBe(false);
    await expect(lab.probe(a1, a2.ipv4, SERVED, 'tcp')).rejects.toThrow(/destroyed/);
  });
});

const OWNER_SCRIPT = fileURLToPath(new URL('../lab/owner-that-dies.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

/** Runs a lab owner in its own process, lets it build its lab, then lets it die; returns what it had. */
async function ownerThatDies(death: string): Promise<{ prefix: string; sleeperPid: number }> {
  const child = spawn(TSX, [OWNER_SCRIPT, death], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let prefix: string | undefined;
  try {
    const [printedPrefix = '', sleeper = ''] = await new Promise<string[]>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim().split(' ')));
      child.once('exit', (code, signal) => reject(new Error(`owner exited early (${signal ?? code}): ${stderr}`)));
    });
    prefix = printedPrefix;
    const sleeperPid = Number(sleeper);
    expect(labNamespaces(prefix).length).toBeGreaterThan(0);
    expect(pidsIn(labNamespaces(prefix))).toContain(sleeperPid);
    child.stdin.write('go\n');
    await exited;
    return { prefix, sleeperPid };
  } catch (error) {
    child.kill('SIGKILL');
    if (prefix !== undefined) destroyAll(prefix);
    throw error;
  }
}
