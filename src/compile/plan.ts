import type { Direction } from '../model/types.js';
import type { BaseChainHook, SetElement, SetKeyType, Statement, TableRef } from './nft-json.js';

// A plan is the desired content of Bulkhead's tables as plain, sorted data: the same input gives a byte-identical
// JSON.stringify, and diffPlans compares two plans without asking the kernel.

export const POLICY_TABLE = { family: 'inet', name: 'bulkhead' } as const satisfies TableRef;
export const BINDING_TABLE = { family: 'bridge', name: 'bulkhead' } as const satisfies TableRef;

export interface RulePlan {
  readonly expr: readonly Statement[];
  readonly comment?: string;
}

export interface ChainPlan {
  readonly name: string;
  /** Present on base chains (attached to a netfilter hook); regular chains are only jumped to. */
  readonly hook?: BaseChainHook;
  readonly rules: readonly RulePlan[];
}

export interface SetPlan {
  readonly name: string;
  readonly type: SetKeyType | readonly SetKeyType[];
  /** A verdict map: elements are `[key, verdict]`. */
  readonly map?: 'verdict';
  /** Elements are prefixes and ranges (flags interval). */
  readonly interval: boolean;
  /** Unique keys, sorted by elementKey. */
  readonly elements: readonly SetElement[];
}

export interface TablePlan extends TableRef {
  /** Named counter objects, sorted. */
  readonly counters: readonly string[];
  /** Sorted by name. */
  readonly sets: readonly SetPlan[];
  /** Sorted by name. */
  readonly chains: readonly ChainPlan[];
}

export interface CounterOwner {
  readonly namespace: string;
  readonly pod: string;
  readonly direction: Direction;
}

/** An audit counter's pod and direction, and the audit-mode policies that isolate the pod there. */
export interface AuditCounterOwner extends CounterOwner {
  /** `ns/name`, sorted. */
  readonly policies: readonly string[];
}

export interface Plan {
  readonly tables: readonly TablePlan[];
  /** Every drop counter (they live in POLICY_TABLE) -> the pod and direction whose denied packets it counts. */
  readonly counters: Readonly<Record<string, CounterOwner>>;
  /**
   * Every audit counter (in POLICY_TABLE) -> the pod, direction and audit-mode policies whose would-be denials
   * it counts (packets that passed); absent when no local pod is isolated by audit-mode policies only.
   */
  readonly auditCounters?: Readonly<Record<string, AuditCounterOwner>>;
  /**
   * The named counter (in POLICY_TABLE, not in `counters`: it belongs to no pod) of packets dropped because a
   * pod address of this node is held by no known pod; present only with CompileOptions.unknownLocalPods.
   */
  readonly unknownLocalPodsCounter?: string;
}

export function counterNames(plan: Plan): readonly string[] {
  return Object.keys(plan.counters).sort();
}

/** What identifies an element within its set: the key alone (a map's verdict is its value). */
export function elementKey(set: Pick<SetPlan, 'map'>, element: SetElement): string {
  const key = set.map ? (element as readonly unknown[])[0] : element;
  // Plain addresses and names are most elements by far: they are their own key.
  return typeof key === 'string' ? key : JSON.stringify(key);
}

export function byName<T extends { readonly name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A set plan with duplicate keys dropped (first wins) and elements sorted, as Plan requires. */
export function setPlan(definition: Omit<SetPlan, 'elements'>, elements: readonly SetElement[]): SetPlan {
  // Addresses alone (peer sets, up to every pod of the cluster) are their own keys: dedupe and sort directly.
  if (!definition.map && elements.every((e) => typeof e === 'string')) {
    return { ...definition, elements: [...new Set(elements as readonly string[])].sort() };
  }
  const byKey = new Map<string, SetElement>();
  for (const element of elements) {
    const key = elementKey(definition, element);
    if (!byKey.has(key)) byKey.set(key, element);
  }
  const keys = [...byKey.keys()].sort();
  return { ...definition, elements: keys.map((key) => byKey.get(key)!) };
}
