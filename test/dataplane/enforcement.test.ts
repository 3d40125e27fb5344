// How the kernel enforces what the agents compile, beyond who may connect to whom: replies of allowed connections,
// silence for denied ones, policy changes under live traffic (new connections follow the new policy at once;
// established ones keep flowing, by `ct state established,related accept`, until their conntrack entry ends),
// source-address binding, drop counters, and what is left when a policy or a pod goes away.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkPolicy, Protocol } from '../../src/model/index.js';
import { disagreements, type ExpectedProbe } from './grid.js';
import { type Cluster, type DropReading, type PodDeclaration, type Probe, requireTools, type Served, startCluster } from './harness.js';
import { anyPort, everything, policy, podPeer, port, rule, selector } from '../support/builders.js';

let cluster: Cluster;
const sessions = new Set<ChildProcessWithoutNullStreams>();

beforeAll(async () => {
  requireTools(['socat', 'ss']);
  cluster = await startCluster();
});

afterAll(async () => {
  for (const session of sessions) session.kill('SIGKILL');
  await cluster?.stop();
});

const SERVED: readonly Served[] = [
  { port: 80, protocol: 'TCP' },
  { port: 53, protocol: 'UDP' },
  { port: 3868, protocol: 'SCTP' },
];

function pod(name: string, node: string, labels: Record<string, string>, serve: readonly Served[] = SERVED): PodDeclaration {
  return { namespace: 'app', name, node, labels, serve };
}

function expectProbe(from: string, to: string, protocol: Protocol, expected: 'connected' | 'timeout', family: 4 | 6 = 4): ExpectedProbe {
  const portOf: Record<Protocol, number> = { TCP: 80, UDP: 53, SCTP: 3868 };
  return { probe: { from, to, port: portOf[protocol], protocol, family }, expected };
}

async function check(expected: readonly ExpectedProbe[]): Promise<string[]> {
  return disagreements(expected, await cluster.probe(expected.map((e) => e.probe)));
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

// ------------------------------------------------------------------------------------------------ replies

// The client may only send, the servers may only receive: every reply crosses a direction that is closed to new
// connections (the server's egress, the client's ingress), on one node (a -> c) and across nodes (a -> b).
const CLIENT_OUT: NetworkPolicy = policy('app/client-out', {
  podSelector: selector({ role: 'client' }),
  policyTypes: ['ingress', 'egress'],
  egress: [rule([podPeer({ podSelector: selector({ role: 'server' }) })])],
});
const SERVER_IN: NetworkPolicy = policy('app/server-in', {
  podSelector: selector({ role: 'server' }),
  policyTypes: ['ingress', 'egress'],
  ingress: [rule([podPeer({ podSelector: selector({ role: 'client' }) })])],
});
const CLIENT_SERVER_PODS = [
  pod('a', 'node1', { role: 'client' }),
  pod('b', 'node2', { role: 'server' }),
  pod('c', 'node1', { role: 'server' }),
  pod('x', 'node2', { role: 'stranger' }),
];

describe('replies', () => {
  beforeAll(async () => {
    await cluster.apply({ pods: CLIENT_SERVER_PODS, policies: [CLIENT_OUT, SERVER_IN] });
  });

  it('of allowed connections pass both ways in-session, while new connections the other way are dropped', async () => {
    const expected = [4, 6].flatMap((family) =>
      PROTOCOLS.flatMap((protocol) => [
        expectProbe('app/a', 'app/b', protocol, 'connected', family as 4 | 6),
        expectProbe('app/a', 'app/c', protocol, 'connected', family as 4 | 6),
        expectProbe('app/b', 'app/a', protocol, 'timeout', family as 4 | 6),
        expectProbe('app/c', 'app/a', protocol, 'timeout', family as 4 | 6),
      ]),
    );
    expect(await check(expected)).toEqual([]);
  });

  it('never come for a denied connection: the server does not even see it', async () => {
    const strangerIP = cluster.addressOf('app/x');
    const expected = PROTOCOLS.flatMap((protocol) => [expectProbe('app/x', 'app/b', protocol, 'timeout'), expectProbe('app/x', 'app/c', protocol, 'timeout')]);
    expect(await check(expected)).toEqual([]);
    for (const served of SERVED) {
      for (const server of ['app/b', 'app/c']) {
        const peers = await cluster.serverPeers(server, served);
        // The same servers did see the client: silence is the policy's doing, not a broken server.
        expect({ server, served, seen: peers.includes(cluster.addressOf('app/a')) }).toEqual({ server, served, seen: true });
        expect({ server, served, stranger: peers.includes(strangerIP) }).toEqual({ server, served, stranger: false });
      }
    }
  });
});

// ------------------------------------------------------------------------------------------------ live changes

/** A long-lived TCP connection through socat, echoed back by a socat on the far side. */
class EchoSession {
  private received = '';
  private readonly client: ChildProcessWithoutNullStreams;

  private constructor(client: ChildProcessWithoutNullStreams) {
    this.client = client;
    client.stdout.on('data', (chunk: Buffer) => (this.received += chunk.toString()));
  }

  static open(netns: string, ip: string, port: number): EchoSession {
    const client = spawn('ip', ['netns', 'exec', netns, 'socat', 'STDIO', `TCP:${ip}:${port}`]);
    sessions.add(client);
    client.on('exit', () => sessions.delete(client));
    return new EchoSession(client);
  }

  /** Sends a line; true when it comes back within `ms`. */
  async roundTrip(line: string, ms: number): Promise<boolean> {
    this.client.stdin.write(`${line}\n`);
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.received.includes(`${line}\n`)) return true;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  }

  close(): void {
    this.client.kill('SIGKILL');
  }
}

const ECHO_PORT = 7000;

/** Echo servers started here (socat, not the lab's servers, which close after one answer). */
function startEcho(netns: string): ChildProcessWithoutNullStreams {
  const server = spawn('ip', ['netns', 'exec', netns, 'socat', `TCP-LISTEN:${ECHO_PORT},reuseaddr,fork`, 'PIPE']);
  sessions.add(server);
  server.on('exit', () => sessions.delete(server));
  return server;
}

async function untilListening(netns: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const result = await cluster.lab.exec({ netns, label: netns }, ['ss', '-Htln', `sport = :${ECHO_PORT}`]);
    if (result.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`socat did not listen on ${ECHO_PORT} in ${netns}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a policy change under live traffic', () => {
  const serverOnlyOn80: NetworkPolicy = policy('app/server-in', {
    podSelector: selector({ role: 'server' }),
    policyTypes: ['ingress', 'egress'],
    ingress: [rule([podPeer({ podSelector: selector({ role: 'client' }) })], [port(80)])],
  });

  for (const [where, server] of [
    ['on one node', 'app/c'],
    ['across nodes', 'app/b'],
  ] as const) {
    it(`${where}: new connections follow the new policy at once; an established TCP connection keeps passing data until conntrack forgets it`, async () => {
      await cluster.apply({ pods: CLIENT_SERVER_PODS, policies: [CLIENT_OUT, SERVER_IN] });
      const echo = startEcho(cluster.pod(server).netns);
      try {
        await untilListening(cluster.pod(server).netns);
        const newConnection: Probe = { from: 'app/a', to: server, port: ECHO_PORT, protocol: 'TCP' };
        expect(await check([{ probe: newConnection, expected: 'connected' }])).toEqual([]);

        const session = EchoSession.open(cluster.pod('app/a').netns, cluster.addressOf(server), ECHO_PORT);
        try {
          expect(await session.roundTrip('before the change', 5_000)).toBe(true);

          // Keep conntrack: the session's entry must outlive the change.
          await cluster.apply({ pods: CLIENT_SERVER_PODS, policies: [CLIENT_OUT, serverOnlyOn80] }, { flushConntrack: false });
          expect(await check([{ probe: newConnection, expected: 'timeout' }])).toEqual([]);
          expect(await session.roundTrip('after the change', 5_000)).toBe(true);

          // What carried it was its conntrack entry: without it, the next segment is new to the kernel, and dropped.
          await Promise.all(cluster.lab.nodes.map((node) => cluster.lab.exec(node, ['conntrack', '-F'])));
          expect(await session.roundTrip('after conntrack forgot it', 1_500)).toBe(false);
        } finally {
          session.close();
        }
      } finally {
        echo.kill('SIGKILL');
      }
    });
  }
});

// ------------------------------------------------------------------------------------------------ counters

describe('drop counters', () => {
  const pods = [
    pod('mute', 'node1', { role: 'mute' }),
    pod('deaf', 'node2', { role: 'deaf' }),
    pod('locked', 'node1', { role: 'locked' }),
    pod('free1', 'node1', {}),
    pod('free2', 'node2', {}),
  ];
  const policies = [
    policy('app/mute', { podSelector: selector({ role: 'mute' }), policyTypes: ['egress'] }),
    policy('app/deaf', { podSelector: selector({ role: 'deaf' }), policyTypes: ['ingress'] }),
    policy('app/locked', { podSelector: selector({ role: 'locked' }), policyTypes: ['ingress', 'egress'] }),
  ];

  beforeAll(async () => {
    await cluster.apply({ pods, policies });
  });

  const key = (r: DropReading) => `${r.node} ${r.counter} ${r.namespace}/${r.pod} ${r.direction}`;

  it('exist for each isolated pod and direction, on the pod’s own node only', async () => {
    expect((await cluster.dropCounters()).map(key).sort()).toEqual([
      'node1 drop_in_app_locked app/locked ingress',
      'node1 drop_out_app_locked app/locked egress',
      'node1 drop_out_app_mute app/mute egress',
      'node2 drop_in_app_deaf app/deaf ingress',
    ]);
  });

  // One probe each, shorter than TCP's first SYN retransmission: exactly one packet is dropped.
  const cases: ReadonlyArray<{ name: string; probe: Probe; counts: string }> = [
    { name: 'egress, across nodes', probe: { from: 'app/mute', to: 'app/free2', port: 80, protocol: 'TCP' }, counts: 'node1 drop_out_app_mute app/mute egress' },
    { name: 'ingress, across nodes', probe: { from: 'app/free1', to: 'app/deaf', port: 80, protocol: 'TCP' }, counts: 'node2 drop_in_app_deaf app/deaf ingress' },
    { name: 'ingress, on one node, UDP', probe: { from: 'app/free1', to: 'app/locked', port: 53, protocol: 'UDP' }, counts: 'node1 drop_in_app_locked app/locked ingress' },
    { name: 'egress, on one node, SCTP', probe: { from: 'app/locked', to: 'app/free1', port: 3868, protocol: 'SCTP' }, counts: 'node1 drop_out_app_locked app/locked egress' },
    // Dropped at the source's egress, so the destination's ingress never sees it.
    { name: 'egress before ingress', probe: { from: 'app/mute', to: 'app/deaf', port: 80, protocol: 'TCP' }, counts: 'node1 drop_out_app_mute app/mute egress' },
    { name: 'egress, IPv6', probe: { from: 'app/mute', to: 'app/free1', port: 80, protocol: 'TCP', family: 6 }, counts: 'node1 drop_out_app_mute app/mute egress' },
  ];

  for (const { name, probe, counts } of cases) {
    it(`count a denied probe in its pod’s counter and direction, and nowhere else (${name})`, async () => {
      const before = new Map((await cluster.dropCounters()).map((r) => [key(r), r.packets]));
      expect(await check([{ probe, expected: 'timeout' }])).toEqual([]);
      const after = await cluster.dropCounters();
      const increments = after.map((r) => `${key(r)} +${r.packets - (before.get(key(r)) ?? Number.NaN)}`).filter((line) => !line.endsWith(' +0'));
      expect(increments).toEqual([`${counts} +1`]);
    });
  }
});

// ------------------------------------------------------------------------------------------------ removal

describe('what goes away', () => {
  const denyAll = policy('app/deny-all', { podSelector: everything(), policyTypes: ['ingress'] });
  const pods = [pod('keep', 'node1', { app: 'keep' }), pod('gone', 'node2', { app: 'gone' })];

  it('a removed policy opens the pods it isolated again', async () => {
    await cluster.apply({ pods, policies: [denyAll] });
    expect(await check([expectProbe('app/keep', 'app/gone', 'TCP', 'timeout'), expectProbe('app/gone', 'app/keep', 'UDP', 'timeout')])).toEqual([]);
    await cluster.apply({ pods, policies: [] });
    expect(await check([expectProbe('app/keep', 'app/gone', 'TCP', 'connected'), expectProbe('app/gone', 'app/keep', 'UDP', 'connected')])).toEqual([]);
    for (const node of cluster.lab.nodes) {
      const table = await cluster.lab.exec(node, ['nft', 'list', 'table', 'inet', 'bulkhead']);
      expect(table.stdout).not.toMatch(/chain pod_/);
    }
  });

  it('a deleted pod leaves no chain, counter, peer address or source binding behind', async () => {
    const egressToGone = policy('app/to-gone', {
      podSelector: selector({ app: 'keep' }),
      policyTypes: ['egress'],
      egress: [rule([podPeer({ podSelector: selector({ app: 'gone' }) })], [anyPort('TCP')])],
    });
    await cluster.apply({ pods, policies: [denyAll, egressToGone] });
    const gone = cluster.pod('app/gone');
    const keep = cluster.pod('app/keep');
    const rulesets = async () => Promise.all(cluster.lab.nodes.map(async (node) => (await cluster.lab.exec(node, ['nft', 'list', 'ruleset'])).stdout));
    const [withPod1, withPod2] = await rulesets();
    expect(withPod2).toMatch(/chain pod_in_app_gone/);
    expect(withPod2).toMatch(/counter drop_in_app_gone/);
    expect(withPod2).toContain(gone.hostVeth);
    expect(withPod1).toContain(gone.ipv4);
    expect(await cluster.chainListing('app/gone', 'ingress')).toMatch(/counter name "drop_in_app_gone" drop/);

    await cluster.apply({ pods: pods.filter((p) => p.name !== 'gone'), policies: [denyAll, egressToGone] });
    const [without1, without2] = await rulesets();
    for (const ruleset of [without1, without2]) {
      expect(ruleset).not.toMatch(/app_gone/);
      expect(ruleset).not.toContain(gone.ipv4);
      expect(ruleset).not.toContain(gone.ipv6);
      expect(ruleset).not.toContain(gone.hostVeth);
    }
    // The other pod is still enforced: its chains and binding are there.
    expect(without1).toMatch(/chain pod_in_app_keep/);
    expect(without1).toMatch(/chain pod_out_app_keep/);
    expect(without1).toContain(keep.hostVeth);
  });
});

// ------------------------------------------------------------------------------------------------ source binding

describe('source binding', () => {
  // The guarded pods take UDP from app=trusted only. The spoofer adds the trusted pod's address to its own eth0:
  // by address alone the policy would let that in, so only the binding of addresses to veths can stop it. The
  // trusted pod runs on the other node, so the forged address is routed there and no ARP or ND is disturbed.
  const pods = [
    pod('trusted', 'node2', { role: 'trusted' }),
    pod('spoofer', 'node1', { role: 'spoofer' }),
    pod('guarded1', 'node1', { role: 'guarded' }),
    pod('guarded2', 'node2', { role: 'guarded' }),
  ];
  const guard = policy('app/guard', {
    podSelector: selector({ role: 'guarded' }),
    policyTypes: ['ingress'],
    ingress: [rule([podPeer({ podSelector: selector({ role: 'trusted' }) })])],
  });
  const dns: Served = { port: 53, protocol: 'UDP' };

  for (const family of [4, 6] as const) {
    it(`drops a pod’s packets that carry an allowed peer’s address (IPv${family}), on one node and across nodes`, async () => {
      await cluster.apply({ pods, policies: [guard] });
      const expected = ['app/guarded1', 'app/guarded2'].flatMap((to) => [
        expectProbe('app/trusted', to, 'UDP', 'connected', family),
        expectProbe('app/spoofer', to, 'UDP', 'timeout', family),
      ]);
      expect(await check(expected)).toEqual([]);

      const forged = cluster.addressOf('app/trusted', family);
      await cluster.lab.addSpoofedAddress(cluster.pod('app/spoofer'), forged);
      for (const to of ['app/guarded1', 'app/guarded2']) {
        const seenBefore = (await cluster.serverPeers(to, dns)).filter((ip) => ip === forged).length;
        const asTrusted = await cluster.verdict({ from: 'app/trusted', to, port: 53, protocol: 'UDP', family });
        expect(asTrusted.verdict.allowed).toBe(true);
        const outcome = await cluster.lab.probe(cluster.pod('app/spoofer'), cluster.addressOf(to, family), 53, 'udp', { sourceIP: forged });
        expect({ to, outcome }).toEqual({ to, outcome: 'timeout' });
        // A datagram that got through would have been recorded, whoever received the answer.
        expect({ to, seen: (await cluster.serverPeers(to, dns)).filter((ip) => ip === forged).length }).toEqual({ to, seen: seenBefore });
      }
      // The real peer is still let in.
      expect(await check(expected.filter((e) => e.probe.from === 'app/trusted'))).toEqual([]);
    });
  }
});
