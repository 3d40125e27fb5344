// CompileOptions.unknownLocalPods with real packets: a pod that runs on the node (it has a veth and an address of
// the node's pod CIDR) but is absent from the snapshot is dropped both ways with the option, and passes without.
// The plan is compiled here and applied with nft in the lab node's namespace, as the agent would.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompileOptions, compilePlan, fullTransaction, UNKNOWN_LOCAL_PODS_COUNTER } from '../../src/compile/index.js';
import { parseCounterListing } from '../../src/nft/counters.js';
import { createLab, type Lab, type LabPod } from '../lab/lab.js';
import { namespace, pod, snapshotOf } from '../support/builders.js';

let lab: Lab;
let known: LabPod;
let server: LabPod;
let unknown: LabPod;

beforeAll(async () => {
  lab = await createLab({ nodes: 1, outside: false });
  [known, server, unknown] = await Promise.all([
    lab.addPod({ namespace: 'app', name: 'known', node: 'node1' }),
    lab.addPod({ namespace: 'app', name: 'server', node: 'node1' }),
    lab.addPod({ namespace: 'app', name: 'stray', node: 'node1' }),
  ]);
  await Promise.all([lab.startServer(server, 80, 'tcp'), lab.startServer(unknown, 80, 'tcp'), lab.startServer(server, 53, 'udp')]);
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

/** Compiles the cluster the agent would see (every lab pod but the stray one, no policy) and applies it. */
async function applyPlan(unknownLocalPods: CompileOptions['unknownLocalPods']): Promise<void> {
  const node = lab.node('node1');
  const snapshot = snapshotOf({
    namespaces: [namespace('app')],
    pods: [known, server].map((p) => pod(`${p.namespace}/${p.name}`, { ips: [p.ipv4, p.ipv6], nodeName: 'node1' })),
    policies: [],
  });
  const { plan } = compilePlan(snapshot, { nodeName: 'node1', bindings: [], ...(unknownLocalPods ? { unknownLocalPods } : {}) });
  const file = join(lab.dir, 'unknown-local-pods.json');
  await writeFile(file, JSON.stringify(fullTransaction(plan)));
  const result = await lab.exec(node, ['nft', '-j', '-f', file]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  await lab.exec(node, ['conntrack', '-F']);
}

async function unknownCounter(): Promise<number> {
  const result = await lab.exec(lab.node('node1'), ['nft', '-j', 'list', 'counter', 'inet', 'bulkhead', UNKNOWN_LOCAL_PODS_COUNTER]);
  expect(result.code).toBe(0);
  const [counter] = parseCounterListing(result.stdout);
  if (!counter) throw new Error(`no counter ${UNKNOWN_LOCAL_PODS_COUNTER} in the listing`);
  return counter.packets;
}

describe('unknown local pods', () => {
  it('pass without the option, as pods no policy selects', async () => {
    await applyPlan(undefined);
    expect(await lab.probe(unknown, server.ipv4, 80, 'tcp')).toBe('connected');
    expect(await lab.probe(unknown, server.ipv6, 53, 'udp')).toBe('connected');
    expect(await lab.probe(known, unknown.ipv4, 80, 'tcp')).toBe('connected');
  });

  it('are dropped both ways with the option, and counted; known pods still pass', async () => {
    const node = lab.node('node1');
    await applyPlan({ podCidrs: [node.podCIDRv4, node.podCIDRv6] });
    const before = await unknownCounter();
    expect(await lab.probe(unknown, server.ipv4, 80, 'tcp')).toBe('timeout');
    expect(await lab.probe(unknown, server.ipv6, 53, 'udp')).toBe('timeout');
    expect(await lab.probe(known, unknown.ipv4, 80, 'tcp')).toBe('timeout');
    expect(await lab.probe(known, unknown.ipv6, 80, 'tcp')).toBe('timeout');
    expect(await unknownCounter()).toBeGreaterThanOrEqual(before + 4);
    expect(await lab.probe(known, server.ipv4, 80, 'tcp')).toBe('connected');
    expect(await lab.probe(known, server.ipv6, 53, 'udp')).toBe('connected');
    expect(await lab.probe(server, known.ipv4, 80, 'tcp')).toBe('refused');
  });
});
