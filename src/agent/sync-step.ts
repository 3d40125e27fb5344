// One turn of the agent's loop, without I/O: the cluster as it is now -> the plan it wants -> the transaction
// from what the kernel holds to that plan.
import { type CompileOptions, type CompileProblem, compilePlan, diffPlans, type NftTransaction, type Plan, type PodRef } from '../compile/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';

export interface SyncStep {
  readonly desired: Plan;
  /** Empty when the kernel already holds `desired`. */
  readonly transaction: NftTransaction;
  /** True when the transaction replaces Bulkhead's tables whole (nothing known of what the kernel holds). */
  readonly replacesTables: boolean;
  readonly problems: readonly CompileProblem[];
  readonly unboundPods: readonly PodRef[];
}

/**
 * `applied` is the plan the kernel is known to hold exactly; undefined when that is not known (agent start, or
 * after a failed transaction, when an earlier run or someone else may have left anything), and then the
 * transaction rebuilds the tables in one go.
 */
export function syncStep(applied: Plan | undefined, snapshot: Snapshot, options: CompileOptions): SyncStep {
  const { plan, problems, unboundPods } = compilePlan(snapshot, options);
  return { desired: plan, transaction: diffPlans(applied, plan), replacesTables: applied === undefined, problems, unboundPods };
}
