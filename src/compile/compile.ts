import { type NetworkPolicy, type Pod, podKey, policyKey } from '../model/types.js';
import { isolatingPolicies } from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { type PodBinding, type PodRef, bindingTable } from './binding-table.js';
import { patchCachedSet } from './cached-set.js';
import type { Plan } from './plan.js';
import { type PolicyTableMemo, emptyPolicyTableMemo, policyTable } from './policy-table.js';
import { type CompileProblem, distinctProblems } from './problems.js';
import { UNKNOWN_LOCAL_PODS_COUNTER, type UnknownLocalPodsOption, unknownLocalPodsGuard } from './unknown-local-pods.js';

export interface CompileOptions {
  readonly nodeName: string;
  readonly bindings: readonly PodBinding[];
  /**
   * Drop (and count in UNKNOWN_LOCAL_PODS_COUNTER) forwarded packets from or to an address of these CIDRs that
   * no known pod of this node holds. Absent: such pods pass as pods no policy selects. Throws on a bad CIDR.
   */
  readonly unknownLocalPods?: UnknownLocalPodsOption;
}

export interface CompileResult {
  readonly plan: Plan;
  readonly problems: readonly CompileProblem[];
  /** Local pods with addresses and no usable binding, sorted: their source addresses are not checked. */
  readonly unboundPods: readonly PodRef[];
}

/**
 * Compiles snapshot after snapshot for one node, each time doing the work of what changed since the last one:
 * pods, policies and namespaces are told apart by object identity (a watch cache or a manifest reload keeps the
 * objects it did not change), shared sets are patched by the pods that came, went or changed, and pod chains
 * are kept while their pod and its isolating policies are the same objects. The result is always exactly what
 * compilePlan gives for the same snapshot and options.
 */
export interface Compiler {
  compile(snapshot: Snapshot, options: CompileOptions): CompileResult;
}

interface CompilerState {
  readonly memo: PolicyTableMemo;
  readonly pods: ReadonlySet<Pod>;
  /** What the sets and chains were made under: any difference starts over. */
  readonly frame: string;
}

// Past this share of the cluster's pods changing at once, rebuilding every set from the indexes is cheaper.
const PATCH_LIMIT_SHARE = 0.25;
const PATCH_LIMIT_MIN = 64;

export function createCompiler(): Compiler {
  let state: CompilerState | undefined;
  return {
    compile(snapshot, options) {
      const frame = compileFrame(snapshot, options);
      const pods = new Set(snapshot.pods);
      let memo = emptyPolicyTableMemo();
      if (state && state.frame === frame) {
        const removed = [...state.pods].filter((pod) => !pods.has(pod));
        const added = snapshot.pods.filter((pod) => !state!.pods.has(pod));
        memo = state.memo;
        if (removed.length + added.length > Math.max(PATCH_LIMIT_MIN, snapshot.pods.length * PATCH_LIMIT_SHARE)) {
          memo.sets.clear();
        } else if (removed.length + added.length > 0) {
          for (const [name, set] of memo.sets) memo.sets.set(name, patchCachedSet(set, snapshot, removed, added));
        }
      }
      const result = compileWith(snapshot, options, memo);
      state = { memo, pods, frame };
      return result;
    },
  };
}

/**
 * The desired nftables content for one node. Only this node's pods get chains; every other pod of the cluster
 * matters only as a member of the peer sets those chains reference.
 */
export function compilePlan(snapshot: Snapshot, options: CompileOptions): CompileResult {
  return compileWith(snapshot, options, emptyPolicyTableMemo());
}

function compileWith(snapshot: Snapshot, options: CompileOptions, memo: PolicyTableMemo): CompileResult {
  const localPods = snapshot.pods
    .filter((pod) => pod.nodeName === options.nodeName && !pod.hostNetwork)
    .sort((a, b) => (podKey(a) < podKey(b) ? -1 : 1));
  const guard = options.unknownLocalPods && unknownLocalPodsGuard(options.unknownLocalPods, localPods);
  const policy = policyTable(snapshot, localPods, memo, guard);
  const binding = bindingTable(localPods, options.bindings);
  return {
    plan: {
      tables: [policy.table, binding.table],
      counters: policy.counters,
      ...(guard ? { unknownLocalPodsCounter: UNKNOWN_LOCAL_PODS_COUNTER } : {}),
    },
    problems: distinctProblems([...invalidPolicyProblems(snapshot, localPods), ...policy.problems, ...binding.problems]),
    unboundPods: binding.unboundPods,
  };
}

/**
 * Sets and chains depend on the node, the namespaces' labels (namespace selectors) and nothing else beyond the
 * pods and policies themselves; bindings and the unknown-pod guard are rebuilt every time (local pods only).
 */
function compileFrame(snapshot: Snapshot, options: CompileOptions): string {
  const labels = [...snapshot.namespaces.values()].map((ns) => [ns.name, ns.labels]);
  return JSON.stringify([options.nodeName, labels]);
}

/** Invalid policies that isolate a pod of this node: they allow nothing here, so say why. */
function invalidPolicyProblems(snapshot: Snapshot, localPods: readonly Pod[]): CompileProblem[] {
  const invalid = new Map<string, NetworkPolicy>();
  for (const pod of localPods) {
    for (const policy of [...isolatingPolicies(snapshot, pod, 'ingress'), ...isolatingPolicies(snapshot, pod, 'egress')]) {
      if (policy.errors.length > 0) invalid.set(policyKey(policy), policy);
    }
  }
  return [...invalid.values()].flatMap((policy) =>
    policy.errors.map((error) => ({
      kind: 'invalid-policy' as const,
      object: error.object,
      field: error.field,
      message: `${error.message}; the policy allows nothing, so the pods it selects stay isolated`,
    })),
  );
}
