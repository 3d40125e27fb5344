// Which cluster objects an nft object of a plan stands for, so that a failing command is reported by what an
// operator knows (pods, policies), not only by a chain or set name.
import type { ChainPlan, CounterOwner, Plan, TablePlan } from '../compile/index.js';
import type { NftCommandTarget } from '../nft/index.js';

/**
 * Names of the objects behind `target`, looked up in the plans given (the desired plan for what a transaction
 * adds, the applied one for what it deletes): a pod chain is its pod's (the owner of the drop counter it ends
 * in), a rule its policy's (its comment), a set or map every pod and policy whose rules use it.
 */
export function planObjectOwners(plans: readonly Plan[], target: NftCommandTarget): string[] {
  const owners = new Set<string>();
  for (const plan of plans) {
    const table = plan.tables.find((t) => t.family === target.family && t.name === target.table);
    if (!table) continue;
    switch (target.kind) {
      case 'table':
        break;
      case 'counter': {
        const owner = counterOwner(plan, target.name);
        if (owner) owners.add(`Pod ${owner.namespace}/${owner.pod} (${owner.direction})`);
        break;
      }
      case 'chain':
      case 'rule': {
        if (target.comment !== undefined) owners.add(`NetworkPolicy ${target.comment}`);
        const chain = table.chains.find((c) => c.name === target.name);
        if (chain) chainOwners(plan, chain).forEach((owner) => owners.add(owner));
        break;
      }
      case 'set':
      case 'map':
      case 'element':
        for (const chain of chainsUsingSet(table, target.name)) {
          chainOwners(plan, chain).forEach((owner) => owners.add(owner));
          for (const rule of chain.rules) {
            if (rule.comment !== undefined && rule.expr.some((s) => statementMentions(s, `@${target.name}`))) {
              owners.add(`NetworkPolicy ${rule.comment}`);
            }
          }
        }
        break;
      default: {
        const unreachable: never = target.kind;
        return unreachable;
      }
    }
  }
  return [...owners].sort();
}

/** The pod and direction of a drop or audit counter of the plan. */
function counterOwner(plan: Plan, name: string): CounterOwner | undefined {
  if (Object.hasOwn(plan.counters, name)) return plan.counters[name];
  return plan.auditCounters !== undefined && Object.hasOwn(plan.auditCounters, name) ? plan.auditCounters[name] : undefined;
}

/** A pod chain ends in its pod's named drop (or audit) counter; base chains (hooks) stand for no single object. */
function chainOwners(plan: Plan, chain: ChainPlan): string[] {
  return chain.rules.flatMap((rule) =>
    rule.expr.flatMap((statement) => {
      if (!('counter' in statement)) return [];
      const owner = counterOwner(plan, statement.counter);
      return owner ? [`Pod ${owner.namespace}/${owner.pod} (${owner.direction})`] : [];
    }),
  );
}

function chainsUsingSet(table: TablePlan, set: string): ChainPlan[] {
  return table.chains.filter((chain) => chain.rules.some((rule) => rule.expr.some((s) => statementMentions(s, `@${set}`))));
}

/** Whether a rule statement (plain JSON) refers to `reference` (`@set`) anywhere in its expressions. */
function statementMentions(value: unknown, reference: string): boolean {
  if (typeof value === 'string') return value === reference;
  if (Array.isArray(value)) return value.some((item) => statementMentions(item, reference));
  if (typeof value === 'object' && value !== null) return Object.values(value).some((item) => statementMentions(item, reference));
  return false;
}
