import type { Expression, NftCommand, NftObject, NftTransaction, SetElement, TableRef } from './nft-json.js';
import { patchedElements } from './cached-set.js';
import { type ChainPlan, type Plan, type SetPlan, type TablePlan, elementKey } from './plan.js';

/**
 * The smallest transaction that turns the applied plan into the desired one, in an order the kernel accepts
 * in one atomic batch:
 *   1. new counters, chains (empty), sets and maps (whose elements may jump to those chains);
 *   2. element deletes, then element adds, in sets and maps that stay (a map key whose verdict changed is
 *      deleted, then added; an interval set that changed is flushed and refilled);
 *   3. changed chains flushed and refilled, new chains filled (their rules reference the sets of step 1);
 *   4. removed chains flushed then deleted (no map jumps to them after step 2);
 *   5. removed sets and counters deleted (no rule references them after steps 3 and 4).
 * Without an applied plan (agent start), or when a table changed shape (a base chain's hook, a set's type),
 * the table is rebuilt: `add table` (so the delete cannot fail), `delete table`, then everything, in the same
 * transaction, so the old rules hold until the new ones do.
 */
export function diffPlans(applied: Plan | undefined, desired: Plan): NftTransaction {
  const commands: NftCommand[] = [];
  for (const table of desired.tables) {
    const before = applied?.tables.find((t) => sameTable(t, table));
    commands.push(...(before && sameShape(before, table) ? tableChanges(before, table) : rebuildTable(table)));
  }
  for (const table of applied?.tables ?? []) {
    if (!desired.tables.some((t) => sameTable(t, table))) commands.push({ delete: { table: tableRef(table) } });
  }
  return { nftables: commands };
}

/** Both tables deleted if present and created complete, in one transaction. */
export function fullTransaction(plan: Plan): NftTransaction {
  return diffPlans(undefined, plan);
}

function rebuildTable(table: TablePlan): NftCommand[] {
  const ref = tableRef(table);
  return [
    { add: { table: ref } },
    { delete: { table: ref } },
    { add: { table: ref } },
    ...table.counters.map((name): NftCommand => ({ add: counterObject(table, name) })),
    ...table.chains.map((chain): NftCommand => ({ add: chainObject(table, chain) })),
    ...table.sets.map((set): NftCommand => ({ add: setObject(table, set) })),
    ...table.chains.flatMap((chain) => ruleAdds(table, chain)),
  ];
}

function tableChanges(applied: TablePlan, desired: TablePlan): NftCommand[] {
  const appliedSets = byName(applied.sets);
  const appliedChains = byName(applied.chains);
  const desiredSets = byName(desired.sets);
  const desiredChains = byName(desired.chains);
  const appliedCounters = new Set(applied.counters);
  const desiredCounters = new Set(desired.counters);

  const create: NftCommand[] = [];
  const elementDeletes: NftCommand[] = [];
  const elementAdds: NftCommand[] = [];
  const rewrite: NftCommand[] = [];
  const removeChains: NftCommand[] = [];
  const removeObjects: NftCommand[] = [];

  for (const name of desired.counters) {
    if (!appliedCounters.has(name)) create.push({ add: counterObject(desired, name) });
  }
  for (const chain of desired.chains) {
    const before = appliedChains.get(chain.name);
    if (!before) {
      create.push({ add: chainObject(desired, chain) });
      rewrite.push(...ruleAdds(desired, chain));
    } else if (before !== chain && JSON.stringify(before.rules) !== JSON.stringify(chain.rules)) {
      rewrite.push({ flush: chainObject(desired, { name: chain.name, rules: [] }) }, ...ruleAdds(desired, chain));
    }
  }
  for (const set of desired.sets) {
    const before = appliedSets.get(set.name);
    if (!before) {
      create.push({ add: setObject(desired, set) });
      continue;
    }
    // The compiler hands back a set it did not touch as the same object: nothing to compare.
    if (before === set) continue;
    const change = elementChange(before, set);
    if (change.flush) elementDeletes.push({ flush: setReference(desired, set) });
    if (change.deletes.length > 0) elementDeletes.push({ delete: elementObject(desired, set, change.deletes) });
    if (change.adds.length > 0) elementAdds.push({ add: elementObject(desired, set, change.adds) });
  }
  for (const chain of applied.chains) {
    if (desiredChains.has(chain.name)) continue;
    const ref = chainObject(applied, { name: chain.name, rules: [] });
    removeChains.push({ flush: ref }, { delete: ref });
  }
  for (const set of applied.sets) {
    if (!desiredSets.has(set.name)) removeObjects.push({ delete: setReference(applied, set) });
  }
  for (const name of applied.counters) {
    if (!desiredCounters.has(name)) removeObjects.push({ delete: counterObject(applied, name) });
  }
  return [...create, ...elementDeletes, ...elementAdds, ...rewrite, ...removeChains, ...removeObjects];
}

interface ElementChange {
  readonly flush: boolean;
  readonly deletes: readonly SetElement[];
  readonly adds: readonly SetElement[];
}

function elementChange(applied: SetPlan, desired: SetPlan): ElementChange {
  // A set the compiler patched from `applied` says what changed.
  const patched = patchedElements(applied, desired);
  if (patched) return { flush: false, ...patched };
  // Both element lists are sorted by key (a Plan's invariant): one merge walk finds what left and what came,
  // without hashing every element of sets as large as the cluster.
  const value = (element: SetElement) => (applied.map ? JSON.stringify(element) : undefined);
  const deletes: SetElement[] = [];
  const adds: SetElement[] = [];
  const before = applied.elements;
  const after = desired.elements;
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const old = before[i];
    const next = after[j];
    const oldKey = old === undefined ? undefined : elementKey(applied, old);
    const nextKey = next === undefined ? undefined : elementKey(desired, next);
    if (nextKey === undefined || (oldKey !== undefined && oldKey < nextKey)) {
      deletes.push(old!);
      i++;
    } else if (oldKey === undefined || nextKey < oldKey) {
      adds.push(next!);
      j++;
    } else {
      if (value(old!) !== value(next!)) {
        deletes.push(old!);
        adds.push(next!);
      }
      i++;
      j++;
    }
  }
  // Deleting from an interval set must name its intervals exactly as the kernel holds them; refilling is
  // simpler and these sets (ipBlocks) are small.
  if (desired.interval && (deletes.length > 0 || adds.length > 0)) {
    return { flush: true, deletes: [], adds: desired.elements };
  }
  // A map element is deleted by its key alone.
  const deleted = applied.map ? deletes.map((e) => (e as readonly [Expression, unknown])[0]) : deletes;
  return { flush: false, deletes: deleted, adds };
}

/** A table is changed in place only when what cannot be changed in place (hooks, set types) is the same. */
function sameShape(applied: TablePlan, desired: TablePlan): boolean {
  const appliedChains = byName(applied.chains);
  const appliedSets = byName(applied.sets);
  const hooksSame = desired.chains.every((chain) => {
    const before = appliedChains.get(chain.name);
    return !before || JSON.stringify(before.hook) === JSON.stringify(chain.hook);
  });
  const setsSame = desired.sets.every((set) => {
    const before = appliedSets.get(set.name);
    return !before || before === set || definition(before) === definition(set);
  });
  return hooksSame && setsSame;
}

function definition(set: SetPlan): string {
  return JSON.stringify([set.type, set.map ?? null, set.interval]);
}

function sameTable(a: TableRef, b: TableRef): boolean {
  return a.family === b.family && a.name === b.name;
}

function tableRef(table: TableRef): TableRef {
  return { family: table.family, name: table.name };
}

function byName<T extends { readonly name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name, item]));
}

function counterObject(table: TableRef, name: string): NftObject {
  return { counter: { family: table.family, table: table.name, name } };
}

function chainObject(table: TableRef, chain: ChainPlan): NftObject {
  return { chain: { family: table.family, table: table.name, name: chain.name, ...chain.hook } };
}

function setObject(table: TableRef, set: SetPlan): NftObject {
  const scope = { family: table.family, table: table.name, name: set.name, type: set.type };
  const elem = set.elements.length > 0 ? { elem: set.elements } : {};
  if (set.map) return { map: { ...scope, map: set.map, ...elem } };
  return { set: { ...scope, ...(set.interval ? { flags: ['interval'] as const } : {}), ...elem } };
}

/** A set or map named for flush or delete. */
function setReference(table: TableRef, set: SetPlan): NftObject {
  const scope = { family: table.family, table: table.name, name: set.name };
  return set.map ? { map: scope } : { set: scope };
}

function elementObject(table: TableRef, set: SetPlan, elem: readonly SetElement[]): NftObject {
  return { element: { family: table.family, table: table.name, name: set.name, elem } };
}

function ruleAdds(table: TableRef, chain: ChainPlan): NftCommand[] {
  return chain.rules.map((rule) => ({
    add: {
      rule: {
        family: table.family,
        table: table.name,
        chain: chain.name,
        expr: rule.expr,
        ...(rule.comment === undefined ? {} : { comment: rule.comment }),
      },
    },
  }));
}
