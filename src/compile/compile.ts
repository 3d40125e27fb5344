import { type Direction, type NetworkPolicy, type Pod, podKey, policyKey } from '../model/types.js';
import { ENFORCEMENT_ANNOTATION, type EnforcementMode, enforcementErrors } from '../policy/index.js';
import { type Snapshot, canonicalIP } from '../snapshot/snapshot.js';
import { type PodBinding, type PodRef, bindingTable } from './binding-table.js';
import { patchCachedSet } from './cached-set.js';
import { allowedSampleChain, type MonitorAllowedOption } from './allowed-sample.js';
import { type ChainPlan, type Plan, type SetPlan, type TablePlan, byName } from './plan.js';
import { type ChainPolicies, type Isolating, type PolicyTableMemo, chainPolicies, emptyPolicyTableMemo, policyTable, sameObjects } from './policy-table.js';
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
  /**
   * Log the first packet of connections that passed every pod chain, rate-limited, to ALLOWED_LOG_GROUP (one more
   * base chain after egress and ingress). Absent: no such chain, and the plan is what it was without the option.
   */
  readonly monitorAllowed?: MonitorAllowedOption;
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

/** A pod's isolating policies, kept while the policies of its namespace are the same objects. */
interface KeptIsolation {
  readonly namespacePolicies: readonly NetworkPolicy[];
  readonly ingress: ChainPolicies;
  readonly egress: ChainPolicies;
}

interface CompilerMemo extends PolicyTableMemo {
  readonly isolation: WeakMap<Pod, KeptIsolation>;
  /** Binding addresses as canonicalIP gives them (or its error): bindings are read anew every sync. */
  readonly canonicalIPs: Map<string, string | Error>;
  /** The last compile's base chains and node-sized sets (dispatch maps, bindings), by table and name. */
  readonly parts: Map<string, SetPlan | ChainPlan>;
}

function emptyMemo(): CompilerMemo {
  return { ...emptyPolicyTableMemo(), isolation: new WeakMap(), canonicalIPs: new Map(), parts: new Map() };
}

interface CompilerState {
  readonly memo: CompilerMemo;
  readonly pods: readonly Pod[];
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
      let memo = emptyMemo();
      if (state && state.frame === frame) {
        const { removed, added } = podChanges(state.pods, snapshot.pods);
        memo = state.memo;
        if (removed.length + added.length > Math.max(PATCH_LIMIT_MIN, snapshot.pods.length * PATCH_LIMIT_SHARE)) {
          memo.sets.clear();
        } else if (removed.length + added.length > 0) {
          for (const [name, set] of memo.sets) memo.sets.set(name, patchCachedSet(set, snapshot, removed, added));
        }
      }
      const result = compileWith(snapshot, options, memo);
      state = { memo, pods: snapshot.pods, frame };
      return result;
    },
  };
}

/**
 * The pods of `before` that `after` no longer holds and the other way round, by identity. A cluster's pod list
 * keeps its order from one snapshot to the next (a watch cache's, a manifest directory's), so the unchanged
 * runs at both ends are skipped by comparing references, and only what lies between them is hashed.
 */
function podChanges(before: readonly Pod[], after: readonly Pod[]): { removed: Pod[]; added: Pod[] } {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  const left = before.slice(start, endBefore);
  const right = after.slice(start, endAfter);
  const leftSet = new Set(left);
  const rightSet = new Set(right);
  return { removed: left.filter((pod) => !rightSet.has(pod)), added: right.filter((pod) => !leftSet.has(pod)) };
}

/**
 * The desired nftables content for one node. Only this node's pods get chains; every other pod of the cluster
 * matters only as a member of the peer sets those chains reference.
 */
export function compilePlan(snapshot: Snapshot, options: CompileOptions): CompileResult {
  return compileWith(snapshot, options, emptyMemo());
}

function compileWith(snapshot: Snapshot, options: CompileOptions, memo: CompilerMemo): CompileResult {
  const localPods = snapshot.pods
    .filter((pod) => pod.nodeName === options.nodeName && !pod.hostNetwork)
    .sort((a, b) => (podKey(a) < podKey(b) ? -1 : 1));
  const isolating = keptIsolation(snapshot, memo.isolation);
  const guard = options.unknownLocalPods && unknownLocalPodsGuard(options.unknownLocalPods, localPods);
  const policy = policyTable(snapshot, localPods, isolating, memo, guard);
  const binding = bindingTable(localPods, options.bindings, keptCanonicalIP(memo.canonicalIPs, options.bindings));
  const policyTablePlan = options.monitorAllowed
    ? { ...policy.table, chains: [...policy.table.chains, allowedSampleChain(options.monitorAllowed)].sort(byName) }
    : policy.table;
  return {
    plan: {
      tables: [policyTablePlan, binding.table].map((table) => withKeptParts(table, memo)),
      counters: policy.counters,
      ...(Object.keys(policy.auditCounters).length > 0 ? { auditCounters: policy.auditCounters } : {}),
      ...(guard ? { unknownLocalPodsCounter: UNKNOWN_LOCAL_PODS_COUNTER } : {}),
    },
    problems: distinctProblems([
      ...invalidPolicyProblems(localPods, isolating),
      ...enforcementProblems(snapshot, localPods),
      ...policy.problems,
      ...binding.problems,
    ]),
    unboundPods: binding.unboundPods,
  };
}

/**
 * The table with the base chains and the sets rebuilt every compile (those the memo does not keep: dispatch maps,
 * bindings, the guard's) replaced by the last compile's objects where equal, so the diff skips them by identity
 * instead of walking their elements.
 */
function withKeptParts(table: TablePlan, memo: CompilerMemo): TablePlan {
  const shared = new Set([...memo.sets.values()].map((set) => set.plan));
  const keep = <T extends SetPlan | ChainPlan>(kind: string, part: T): T => {
    const key = `${table.family} ${kind} ${part.name}`;
    const kept = memo.parts.get(key);
    if (kept !== undefined && sameData(kept, part)) return kept as T;
    memo.parts.set(key, part);
    return part;
  };
  return {
    ...table,
    sets: table.sets.map((set) => (shared.has(set) ? set : keep('set', set))),
    chains: table.chains.map((chain) => (chain.hook ? keep('chain', chain) : chain)),
  };
}

/** Deep equality of plain data (what plans are made of), without building strings. */
function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameData(item, b[i]));
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => sameData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/**
 * isolatingPolicies looks only at the policies of the pod's namespace: its answer holds while the pod and those
 * policies are the same objects.
 */
function keptIsolation(snapshot: Snapshot, kept: WeakMap<Pod, KeptIsolation>): Isolating {
  return (pod: Pod, direction: Direction) => {
    const namespacePolicies = snapshot.policiesInNamespace(pod.namespace);
    let entry = kept.get(pod);
    if (!entry || !sameObjects(entry.namespacePolicies, namespacePolicies)) {
      entry = { namespacePolicies, ingress: chainPolicies(snapshot, pod, 'ingress'), egress: chainPolicies(snapshot, pod, 'egress') };
      kept.set(pod, entry);
    }
    return entry[direction];
  };
}

/** canonicalIP remembered for this sync's binding addresses only (the others leave the memo). */
function keptCanonicalIP(kept: Map<string, string | Error>, bindings: readonly PodBinding[]): (ip: string) => string {
  const used = new Set(bindings.flatMap((binding) => binding.ips));
  for (const ip of [...kept.keys()]) {
    if (!used.has(ip)) kept.delete(ip);
  }
  return (ip) => {
    let canonical = kept.get(ip);
    if (canonical === undefined) {
      try {
        canonical = canonicalIP(ip);
      } catch (error) {
        canonical = error as Error;
      }
      kept.set(ip, canonical);
    }
    if (canonical instanceof Error) throw canonical;
    return canonical;
  };
}

/**
 * Sets and chains depend on the node, the namespaces' labels (namespace selectors) and nothing else beyond the
 * pods and policies themselves; bindings and the unknown-pod guard are rebuilt every time (local pods only).
 */
function compileFrame(snapshot: Snapshot, options: CompileOptions): string {
  // A namespace's enforcement annotation makes its policies audit or enforced: chains change with it. An implicit
  // namespace (no object, only pods or policies naming it) has labels and annotations from its name alone: the
  // pods that bring it are new pods, patched in as any other.
  const labels = [...snapshot.declaredNamespaces.values()].map((ns) => [ns.name, ns.labels, ns.annotations?.[ENFORCEMENT_ANNOTATION] ?? null]);
  return JSON.stringify([options.nodeName, labels]);
}

/** Invalid policies in the chains of a pod of this node: they allow nothing here, so say why. */
function invalidPolicyProblems(localPods: readonly Pod[], isolating: Isolating): CompileProblem[] {
  const invalid = new Map<string, { policy: NetworkPolicy; mode: EnforcementMode }>();
  for (const pod of localPods) {
    for (const { mode, policies } of [isolating(pod, 'ingress'), isolating(pod, 'egress')]) {
      for (const policy of policies) if (policy.errors.length > 0) invalid.set(policyKey(policy), { policy, mode });
    }
  }
  const consequence: Readonly<Record<EnforcementMode, string>> = {
    enforce: 'the policy allows nothing, so the pods it selects stay isolated',
    audit: 'the policy allows nothing, so every new connection of the pods it selects is counted as audit',
  };
  return [...invalid.values()].flatMap(({ policy, mode }) =>
    policy.errors.map((error) => ({
      kind: 'invalid-policy' as const,
      object: error.object,
      field: error.field,
      message: `${error.message}; ${consequence[mode]}`,
    })),
  );
}

/** Enforcement annotations that are neither audit nor enforce, where this node's pods live (each enforced). */
function enforcementProblems(snapshot: Snapshot, localPods: readonly Pod[]): CompileProblem[] {
  return enforcementErrors(snapshot, new Set(localPods.map((pod) => pod.namespace))).map((error) => ({
    kind: 'invalid-annotation' as const,
    object: error.object,
    field: error.field,
    message: error.message,
  }));
}
