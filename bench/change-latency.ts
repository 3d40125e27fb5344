// Benchmark: how long a cluster change takes to reach the kernel (target: p99 < 50 ms), in a network namespace
// of its own. The agent's path for one change, each stage timed:
//   snapshot (the cluster input with the change, buildSnapshot) -> compile (the agent's long-lived compiler for node-0)
//   -> diff (diffPlans against the plan applied before) -> nft (the runner's `nft -j -f FILE`).
// The debounce that batches changes in the agent is left out: this is the time from a change being known to its
// rules holding. Changes cycle through: a remote pod added, a remote pod removed, a local pod added, a policy
// edited, a remote pod added, a remote pod removed, a local pod removed, a policy edited.
// Run: npx tsx bench/change-latency.ts [changes] [pods] [policies]   (default 1,000 changes, 10,000 pods, 1,000 policies)
import { pino } from 'pino';
import { createCompiler, diffPlans, fullTransaction, isEmptyTransaction, type PodBinding } from '../src/compile/index.js';
import { DIRECTIONS, type NetworkPolicy, type Pod, policyKey, podKey } from '../src/model/types.js';
import { createNftRunner } from '../src/nft/index.js';
import { isolatingPolicies } from '../src/policy/index.js';
import { buildSnapshot } from '../src/snapshot/snapshot.js';
import { generateCluster } from './cluster-generator.js';
import { localBindings } from './local-bindings.js';
import { describeMachine, peakRssMiB } from './machine.js';
import { planSize } from './plan-size.js';
import { seededRandom } from './seeded-random.js';
import { percentile, round } from './stats.js';
import { inThrowawayNetns } from './throwaway-netns.js';

const changeCount = Number(process.argv[2] ?? 1_000);
const podCount = Number(process.argv[3] ?? 10_000);
const policyCount = Number(process.argv[4] ?? 1_000);
const PODS_PER_NODE = 100;
const POLICIES_PER_NAMESPACE = 10;
const NODE = 'node-0';
const TIERS = ['frontend', 'backend', 'database'] as const;

const CHANGE_KINDS = ['remote-add', 'remote-remove', 'local-add', 'policy-edit', 'remote-add', 'remote-remove', 'local-remove', 'policy-edit'] as const;
type ChangeKind = (typeof CHANGE_KINDS)[number];
const STAGES = ['snapshot', 'compile', 'diff', 'nft'] as const;
type Stage = (typeof STAGES)[number];

interface Sample {
  readonly kind: ChangeKind;
  readonly ms: Readonly<Record<Stage | 'total', number>>;
  readonly commands: number;
}

const result = await inThrowawayNetns('change-latency', async (netns) => {
  const machine = describeMachine();
  const namespaceCount = Math.max(1, Math.round(policyCount / POLICIES_PER_NAMESPACE));
  const generated = generateCluster({
    pods: podCount,
    policies: policyCount,
    namespaces: namespaceCount,
    nodes: Math.max(1, Math.round(podCount / PODS_PER_NODE)),
    placement: 'scattered',
  });
  const namespaces = generated.namespaces;
  let pods: readonly Pod[] = generated.pods;
  let policies: readonly NetworkPolicy[] = generated.policies;
  let bindings: readonly PodBinding[] = localBindings(pods, NODE);
  const random = seededRandom(20_240_601);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  const runner = createNftRunner({ logger: pino({ level: 'silent' }) });
  const initialStart = performance.now();
  const initialSnapshot = buildSnapshot({ namespaces, pods, policies });
  // One compiler for the run, as the agent keeps one: each compile works from the one before.
  const compiler = createCompiler();
  let applied = compiler.compile(initialSnapshot, { nodeName: NODE, bindings }).plan;
  const initial = await runner.apply(fullTransaction(applied));
  if (!initial.ok) throw new Error(`initial sync failed in ${netns}: ${initial.failure.messages.join('; ')}`);
  const initialSyncMs = performance.now() - initialStart;
  const initialPlan = planSize(applied);

  // Policies that isolate a pod of this node and have a numeric port to edit: an edit then changes rules here.
  const editable = new Set<string>();
  for (const pod of initialSnapshot.pods.filter((p) => p.nodeName === NODE)) {
    for (const direction of DIRECTIONS) {
      for (const policy of isolatingPolicies(initialSnapshot, pod, direction)) {
        if ([...policy.ingress, ...policy.egress].some((rule) => rule.ports.some((port) => typeof port.port === 'number'))) {
          editable.add(policyKey(policy));
        }
      }
    }
  }
  const editableKeys = [...editable].sort();
  if (editableKeys.length === 0) throw new Error('no policy isolating a local pod has a numeric port to edit');

  let churned = 0;
  const addedLocal: Pod[] = [];
  const churnPod = (nodeName: string): Pod => {
    const n = churned++;
    const tier = pick(TIERS);
    return {
      namespace: `ns-${Math.floor(random() * namespaceCount)}`,
      name: `churn-${n}`,
      labels: { app: `app-${Math.floor(random() * 12)}`, tier, 'prometheus.io/scrape': random() < 0.2 ? 'true' : 'false' },
      // 10.200/16 and fd00:10:200::/48: outside the generator's ranges.
      ips: [`10.200.${(n >> 8) & 255}.${n & 255}`, `fd00:10:200::${n.toString(16)}`],
      hostNetwork: false,
      nodeName,
      ports: [
        { name: 'http', containerPort: tier === 'database' ? 5432 : 8080, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
      ],
    };
  };
  const remoteNode = () => `node-${1 + Math.floor(random() * (Math.max(2, Math.round(podCount / PODS_PER_NODE)) - 1))}`;
  const withoutPod = (victim: Pod) => pods.filter((pod) => pod !== victim);

  const change = (kind: ChangeKind): void => {
    switch (kind) {
      case 'remote-add':
        pods = [...pods, churnPod(remoteNode())];
        return;
      case 'remote-remove': {
        let victim = pick(pods);
        while (victim.nodeName === NODE || victim.namespace === 'kube-system') victim = pick(pods);
        pods = withoutPod(victim);
        return;
      }
      case 'local-add': {
        const pod = churnPod(NODE);
        addedLocal.push(pod);
        pods = [...pods, pod];
        bindings = [...bindings, ...localBindings([pod], NODE)];
        return;
      }
      case 'local-remove': {
        const victim = addedLocal.shift();
        if (victim === undefined) throw new Error('local-remove before any local-add');
        pods = withoutPod(victim);
        bindings = bindings.filter((binding) => podKey(binding) !== podKey(victim));
        return;
      }
      case 'policy-edit': {
        const key = pick(editableKeys);
        policies = policies.map((policy) => (policyKey(policy) === key ? withPortsToggled(policy) : policy));
        return;
      }
      default: {
        const unreachable: never = kind;
        throw new Error(`unknown change ${String(unreachable)}`);
      }
    }
  };

  const samples: Sample[] = [];
  const emptyTransactions: ChangeKind[] = [];
  for (let i = 0; i < changeCount; i++) {
    const kind = CHANGE_KINDS[i % CHANGE_KINDS.length]!;
    const t0 = performance.now();
    change(kind);
    const snapshot = buildSnapshot({ namespaces, pods, policies });
    const t1 = performance.now();
    const desired = compiler.compile(snapshot, { nodeName: NODE, bindings }).plan;
    const t2 = performance.now();
    const transaction = diffPlans(applied, desired);
    const t3 = performance.now();
    const outcome = await runner.apply(transaction);
    const t4 = performance.now();
    if (!outcome.ok) throw new Error(`change ${i} (${kind}) failed: ${outcome.failure.messages.join('; ')}`);
    if (isEmptyTransaction(transaction)) emptyTransactions.push(kind);
    applied = desired;
    samples.push({
      kind,
      ms: { snapshot: t1 - t0, compile: t2 - t1, diff: t3 - t2, nft: t4 - t3, total: t4 - t0 },
      commands: transaction.nftables.length,
    });
  }
  await runner.close();

  const summary = (of: readonly Sample[]) => ({
    changes: of.length,
    totalMs: distribution(of.map((s) => s.ms.total)),
    ...Object.fromEntries(STAGES.map((stage) => [`${stage}Ms`, distribution(of.map((s) => s.ms[stage]))])),
    commandsMedian: percentile(of.map((s) => s.commands), 0.5),
  });
  return {
    benchmark: 'change-latency',
    date: new Date().toISOString(),
    machine,
    cluster: { pods: podCount, policies: policyCount, namespaces: namespaceCount, localPods: initialSnapshot.pods.filter((p) => p.nodeName === NODE).length },
    initialPlan,
    initialSyncMs: round(initialSyncMs),
    changesThatLeftTheKernelAsItWas: emptyTransactions.length,
    all: summary(samples),
    byKind: Object.fromEntries([...new Set(CHANGE_KINDS)].map((kind) => [kind, summary(samples.filter((s) => s.kind === kind))])),
    peakRssMiB: peakRssMiB(),
  };
});
console.log(JSON.stringify(result, null, 2));

function distribution(values: readonly number[]): { p50: number; p99: number; max: number } {
  return { p50: round(percentile(values, 0.5)), p99: round(percentile(values, 0.99)), max: round(Math.max(...values)) };
}

/** The same policy with every numeric port (and end port) moved by one, back and forth: 5432 <-> 5433. */
function withPortsToggled(policy: NetworkPolicy): NetworkPolicy {
  const toggle = (rules: NetworkPolicy['ingress']) =>
    rules.map((rule) => ({
      ...rule,
      ports: rule.ports.map((port) =>
        typeof port.port === 'number'
          ? { ...port, port: port.port ^ 1, ...(port.endPort === undefined ? {} : { endPort: port.endPort ^ 1 }) }
          : port,
      ),
    }));
  return { ...policy, ingress: toggle(policy.ingress), egress: toggle(policy.egress) };
}
