// The source-binding table with real frames, alone (no policy isolates anyone): a bound pod's own addresses pass,
// a forged one is dropped (IPv4 and IPv6), ARP and IPv6 neighbour discovery still work (every probe needs them),
// and a pod the CNI cache does not know yet is not bound: its frames pass, whatever their source, and the
// compile reports it. The plan is the compiler's, applied by the runner in the node's namespace.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePlan, fullTransaction } from '../../src/compile/index.js';
import { createNftRunner, type NftRunner } from '../../src/nft/index.js';
import { readCniCache } from '../../src/node/cni-cache.js';
import { buildSnapshot, canonicalIP } from '../../src/snapshot/snapshot.js';
import { createLab, type Lab, type LabPod, type LabServer } from '../lab/lab.js';
import { modelPod } from '../lab/model-pod.js';

const PORT = 5300;
let lab: Lab;
let runner: NftRunner | undefined;
let bound: LabPod;
let unbound: LabPod;
let server: LabServer;
let target: LabPod;
// Free addresses of node1's pod CIDRs, one pair per pod (an address on two pods would split the answers between
// them): no pod holds them, so only a forged source can carry them.
const FORGED_BY_BOUND = { 4: '10.244.1.200', 6: 'fd00:10:244:1::c8' } as const;
const FORGED_BY_UNBOUND = { 4: '10.244.1.201', 6: 'fd00:10:244:1::c9' } as const;

beforeAll(async () => {
  lab = await createLab({ nodes: 1, outside: false });
  bound = await lab.addPod({ namespace: 'app', name: 'bound', node: 'node1' });
  unbound = await lab.addPod({ namespace: 'app', name: 'unbound', node: 'node1' });
  target = await lab.addPod({ namespace: 'app', name: 'target', node: 'node1' });
  server = await lab.startServer(target, PORT, 'udp');
  for (const family of [4, 6] as const) {
    bound = await lab.addSpoofedAddress(bound, FORGED_BY_BOUND[family]);
    unbound = await lab.addSpoofedAddress(unbound, FORGED_BY_UNBOUND[family]);
  }
  runner = createNftRunner({ logger: pino({ level: 'silent' }), nftPath: lab.nftPath(lab.node('node1')) });
});

afterAll(async () => {
  await runner?.close();
  await lab?.destroy();
});

describe('source binding with real frames', () => {
  it('drops a bound pod’s forged sources, passes its own, and leaves a pod without a CNI entry unbound', async () => {
    const cache = await readCniCache(lab.node('node1').cniResultsDir);
    // The unbound pod's sandbox is up, but the agent has not read its CNI result yet.
    const bindings = cache.bindings.filter((b) => b.name !== unbound.name);
    expect(bindings.map((b) => b.name).sort()).toEqual(['bound', 'target']);
    const snapshot = buildSnapshot({
      namespaces: [{ name: 'app', implicit: false, labels: { 'kubernetes.io/metadata.name': 'app' } }],
      pods: [bound, unbound, target].map((pod) => modelPod(pod)),
      policies: [],
    });
    const compiled = compilePlan(snapshot, { nodeName: 'node1', bindings });
    expect(compiled.unboundPods).toEqual([{ namespace: 'app', name: 'unbound' }]);
    expect(await runner!.apply(fullTransaction(compiled.plan))).toMatchObject({ ok: true });

    const address = (pod: LabPod, family: 4 | 6) => (family === 4 ? pod.ipv4 : pod.ipv6);
    for (const family of [4, 6] as const) {
      const to = address(target, family);
      // The source named each time: with a second address in the same prefix, the kernel may pick either.
      expect({ family, own: await lab.probe(bound, to, PORT, 'udp', { sourceIP: address(bound, family) }) }).toEqual({ family, own: 'connected' });
      expect({ family, forged: await lab.probe(bound, to, PORT, 'udp', { sourceIP: FORGED_BY_BOUND[family], timeoutMs: 500 }) }).toEqual({
        family,
        forged: 'timeout',
      });
      expect({ family, unbound: await lab.probe(unbound, to, PORT, 'udp', { sourceIP: address(unbound, family) }) }).toEqual({ family, unbound: 'connected' });
      expect({ family, unboundForged: await lab.probe(unbound, to, PORT, 'udp', { sourceIP: FORGED_BY_UNBOUND[family] }) }).toEqual({
        family,
        unboundForged: 'connected',
      });
    }
    // What the target received: the unbound pod's forged datagrams, never the bound pod's.
    const seen = new Set((await server.peers()).map(canonicalIP));
    for (const family of [4, 6] as const) {
      expect({ family, bound: seen.has(canonicalIP(FORGED_BY_BOUND[family])), unbound: seen.has(canonicalIP(FORGED_BY_UNBOUND[family])) }).toEqual({
        family,
        bound: false,
        unbound: true,
      });
    }
  });
});
