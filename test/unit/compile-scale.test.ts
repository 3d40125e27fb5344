// Compile time at cluster scale: 100,000 pods and 10,000 policies over 1,000 nodes (about 100 pods a node).
// The time is printed, not asserted (machines differ); what is asserted is that locality holds: only this node's
// pods get chains, and the plan is what the semantics say for them.
import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../bench/cluster-generator.js';
import { compilePlan, counterNames, diffPlans, isEmptyTransaction } from '../../src/compile/index.js';
import { isolatingPolicies } from '../../src/policy/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { everything, podPeer, policy, rule, selector } from '../support/builders.js';

describe('compile at scale', () => {
  it('compiles a 100,000-pod, 10,000-policy cluster for one node of 1,000', () => {
    const generated = generateCluster({ pods: 100_000, policies: 10_000, namespaces: 500, nodes: 1_000 });
    // The generator's IPv6 addresses stop being valid past 65,535 pods (a fifth hex digit in the last group);
    // give every pod a valid one in the same style.
    const cluster = {
      ...generated,
      pods: generated.pods.map((pod, i) => ({
        ...pod,
        ips: pod.ips.map((ip) => (ip.includes(':') && pod.namespace !== 'kube-system' ? `fd00:10:244:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}` : ip)),
      })),
    };
    const snapshot = buildSnapshot(cluster);
    const nodeName = 'node-7';

    const start = performance.now();
    const result = compilePlan(snapshot, { nodeName, bindings: [] });
    const compileMs = performance.now() - start;
    const buildStart = performance.now();
    const rebuilt = buildSnapshot(cluster);
    const snapshotMs = performance.now() - buildStart;
    const secondStart = performance.now();
    const again = compilePlan(rebuilt, { nodeName, bindings: [] });
    const secondMs = performance.now() - secondStart;

    const diffStart = performance.now();
    const noop = diffPlans(result.plan, again.plan);
    const diffMs = performance.now() - diffStart;

    const inet = result.plan.tables.find((t) => t.family === 'inet')!;
    const elements = inet.sets.reduce((n, s) => n + s.elements.length, 0);
    const local = snapshot.pods.filter((p) => p.nodeName === nodeName);
    console.log(
      JSON.stringify({
        pods: snapshot.pods.length,
        policies: snapshot.policies.length,
        localPods: local.length,
        snapshotBuildMs: Math.round(snapshotMs),
        compileMs: Math.round(compileMs),
        compileOnFreshSnapshotMs: Math.round(secondMs),
        noopDiffMs: Math.round(diffMs),
        chains: inet.chains.length,
        sets: inet.sets.length,
        setElements: elements,
        planJsonBytes: JSON.stringify(result.plan).length,
      }),
    );

    const isolated = (['ingress', 'egress'] as const).reduce(
      (n, direction) => n + local.filter((pod) => isolatingPolicies(snapshot, pod, direction).length > 0).length,
      0,
    );
    expect(counterNames(result.plan)).toHaveLength(isolated);
    expect(inet.chains).toHaveLength(isolated + 2);
    expect(isEmptyTransaction(noop)).toBe(true);
  });

  it('compiles a peer set of every pod of the cluster, and diffs one new remote pod into it', () => {
    const generated = generateCluster({ pods: 100_000, policies: 10_000, namespaces: 500, nodes: 1_000 });
    const pods = generated.pods.map((pod, i) => ({
      ...pod,
      ips: pod.ips.map((ip) => (ip.includes(':') && pod.namespace !== 'kube-system' ? `fd00:10:244:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}` : ip)),
    }));
    const nodeName = 'node-7';
    const local = pods.find((p) => p.nodeName === nodeName)!;
    const everywhere = policy(`${local.namespace}/egress-anywhere-in-cluster`, {
      podSelector: selector({ app: local.labels.app! }),
      policyTypes: ['egress'],
      egress: [rule([podPeer({ namespaceSelector: everything() })])],
    });
    const before = buildSnapshot({ ...generated, pods, policies: [...generated.policies, everywhere] });
    const start = performance.now();
    const first = compilePlan(before, { nodeName, bindings: [] });
    const compileMs = performance.now() - start;

    const newcomer = { ...pods[1]!, name: 'newcomer', ips: ['10.200.0.1', 'fd00:10:200::1'], nodeName: 'node-9' };
    const after = buildSnapshot({ ...generated, pods: [...pods, newcomer], policies: [...generated.policies, everywhere] });
    const secondStart = performance.now();
    const second = compilePlan(after, { nodeName, bindings: [] });
    const secondMs = performance.now() - secondStart;
    const diffStart = performance.now();
    const diff = diffPlans(first.plan, second.plan);
    const diffMs = performance.now() - diffStart;

    const inet = first.plan.tables.find((t) => t.family === 'inet')!;
    console.log(
      JSON.stringify({
        case: 'cluster-wide peer set',
        compileMs: Math.round(compileMs),
        recompileMs: Math.round(secondMs),
        diffMs: Math.round(diffMs),
        setElements: inet.sets.reduce((n, s) => n + s.elements.length, 0),
        diffCommands: diff.nftables.length,
      }),
    );
    expect(diff.nftables.map((c) => Object.keys(c)[0] + ' ' + Object.keys(Object.values(c)[0]!)[0])).toEqual(['add element', 'add element']);
  });
});
