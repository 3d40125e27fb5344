// One turn of the agent's loop, without I/O: the cluster as it is now -> the plan it wants -> the transaction
// from what the kernel holds to that plan.
import type { CompileOptions, CompileProblem, Compiler, NftTransaction, Plan, PodRef } from '../compile/index.js';
import { createCompiler, diffPlans } from '../compile/index.js';
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
 * transaction rebuilds the tables in one go. `compiler` is the agent's one long-lived compiler
 * (createCompiler): it works from its previous compile, whatever the kernel holds, so a change costs what it
 * touches; without one, the plan is compiled from scratch.
 */
export function syncStep(
  applied: Plan | undefined,
  snapshot: Snapshot,
  options: CompileOptions,
  compiler: Compiler = createCompiler(),
): SyncStep {
  const { plan, problems, unboundPods } = compiler.compile(snapshot, options);
  return { desired: plan, transaction: diffPlans(applied, plan), replacesTables: applied === undefined, problems, unboundPods };
}
