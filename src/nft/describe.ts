// A command of a transaction, named the way an operator reads it: `add rule inet bulkhead <chain>`.
import type { NftCommand, NftObject } from '../compile/index.js';

export type NftVerb = 'add' | 'delete' | 'flush';
export type NftObjectKind = 'table' | 'chain' | 'rule' | 'set' | 'map' | 'counter' | 'element';

/** What a command touches. `name` is the chain of a rule and the set or map of an element. */
export interface NftCommandTarget {
  readonly verb: NftVerb;
  readonly kind: NftObjectKind;
  readonly family: string;
  readonly table: string;
  readonly name: string;
  /** A rule's comment, which the compiler uses to say which policy rule it comes from. */
  readonly comment?: string;
}

export function commandTarget(command: NftCommand): NftCommandTarget {
  if ('add' in command) return objectTarget('add', command.add);
  if ('delete' in command) return objectTarget('delete', command.delete);
  return objectTarget('flush', command.flush);
}

function objectTarget(verb: NftVerb, object: NftObject): NftCommandTarget {
  if ('table' in object) return { verb, kind: 'table', family: object.table.family, table: object.table.name, name: object.table.name };
  if ('chain' in object) return { verb, kind: 'chain', ...scoped(object.chain), name: object.chain.name };
  if ('rule' in object) {
    const { rule } = object;
    return { verb, kind: 'rule', ...scoped(rule), name: rule.chain, ...(rule.comment === undefined ? {} : { comment: rule.comment }) };
  }
  if ('set' in object) return { verb, kind: 'set', ...scoped(object.set), name: object.set.name };
  if ('map' in object) return { verb, kind: 'map', ...scoped(object.map), name: object.map.name };
  if ('counter' in object) return { verb, kind: 'counter', ...scoped(object.counter), name: object.counter.name };
  return { verb, kind: 'element', ...scoped(object.element), name: object.element.name };
}

function scoped(object: { readonly family: string; readonly table: string }): { family: string; table: string } {
  return { family: object.family, table: object.table };
}

/** `add rule inet bulkhead ing_prod_web ("NetworkPolicy prod/allow-db ingress[0]")` */
export function describeTarget(target: NftCommandTarget): string {
  const where = target.kind === 'table' ? `${target.family} ${target.table}` : `${target.family} ${target.table} ${target.name}`;
  const comment = target.comment === undefined ? '' : ` (${JSON.stringify(target.comment)})`;
  return `${target.verb} ${target.kind} ${where}${comment}`;
}
