// A drift, in the words of an operator reading the log: the nft object and what is wrong with it.
import type { TableRef } from '../../compile/index.js';
import type { KernelDrift } from './drift.js';

/** `chain inet bulkhead pod_in_prod_db`: the object a drift is about. */
export function driftObject(drift: KernelDrift): string {
  const table = tableText(drift.table);
  switch (drift.kind) {
    case 'table-missing':
      return `table ${table}`;
    case 'chain-missing':
    case 'chain-extra':
    case 'chain-hook-differs':
    case 'rule-count-differs':
    case 'rule-differs':
      return `chain ${table} ${drift.chain}`;
    case 'set-missing':
    case 'set-extra':
    case 'set-definition-differs':
    case 'elements-missing':
    case 'elements-extra':
      return `set ${table} ${drift.set}`;
    case 'counter-missing':
    case 'counter-extra':
      return `counter ${table} ${drift.counter}`;
    default:
      return unreachable(drift);
  }
}

/** `chain inet bulkhead pod_in_prod_db: 3 rules, expected 2`. */
export function describeDrift(drift: KernelDrift): string {
  return `${driftObject(drift)}: ${problem(drift)}`;
}

function problem(drift: KernelDrift): string {
  switch (drift.kind) {
    case 'table-missing':
    case 'chain-missing':
    case 'set-missing':
    case 'counter-missing':
      return 'missing';
    case 'chain-extra':
    case 'set-extra':
    case 'counter-extra':
      return 'not in the plan';
    case 'chain-hook-differs':
      return `hook is "${drift.found}", expected "${drift.expected}"`;
    case 'rule-count-differs':
      return `${drift.found} rules, expected ${drift.expected}`;
    case 'rule-differs':
      return `rule ${drift.index} is "${drift.found}", expected "${drift.expected}"`;
    case 'set-definition-differs':
      return `type is "${drift.found}", expected "${drift.expected}"`;
    case 'elements-missing':
      return `${drift.count} elements missing (${sample(drift.sample, drift.count)})`;
    case 'elements-extra':
      return `${drift.count} elements not in the plan (${sample(drift.sample, drift.count)})`;
    default:
      return unreachable(drift);
  }
}

function sample(elements: readonly string[], count: number): string {
  return count > elements.length ? `${elements.join(', ')}, ...` : elements.join(', ');
}

function tableText(table: TableRef): string {
  return `${table.family} ${table.name}`;
}

function unreachable(value: never): never {
  throw new Error(`unhandled drift ${JSON.stringify(value)}`);
}
