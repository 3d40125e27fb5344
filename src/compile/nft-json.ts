// The subset of libnftables JSON (`man libnftables-json`, schema version 1) that Bulkhead emits.
// Plans hold these values as they are, so a transaction is the plan's own data and nothing is re-rendered.

export type TableFamily = 'inet' | 'bridge';

export interface TableRef {
  readonly family: TableFamily;
  readonly name: string;
}

/** Right-hand values and left-hand selectors of a match. */
export type Expression =
  | string
  | number
  | readonly string[]
  | { readonly payload: { readonly protocol: 'ip' | 'ip6' | 'th' | 'icmpv6'; readonly field: 'saddr' | 'daddr' | 'dport' | 'type' } }
  | { readonly meta: { readonly key: 'l4proto' | 'iifname' | 'protocol' } }
  | { readonly ct: { readonly key: 'state' } }
  | { readonly concat: readonly Expression[] }
  | { readonly set: readonly Expression[] }
  | { readonly prefix: { readonly addr: string; readonly len: number } }
  | { readonly range: readonly [Expression, Expression] };

export interface Verdict {
  readonly jump: { readonly target: string };
}

export type Statement =
  | { readonly match: { readonly op: '==' | '!=' | 'in'; readonly left: Expression; readonly right: Expression } }
  | { readonly vmap: { readonly key: Expression; readonly data: Expression } }
  /** A reference to a named counter object. */
  | { readonly counter: string }
  /** Matches while under the rate (a token bucket per rule), so the statements after it run only then. */
  | { readonly limit: { readonly rate: number; readonly per: 'second'; readonly burst: number } }
  /**
   * To user space through nfnetlink_log group `group` (NFLOG), tagged with `prefix`; the kernel sends once
   * `queue-threshold` records wait (or after a second).
   */
  | { readonly log: { readonly prefix: string; readonly group: number; readonly 'queue-threshold': number } }
  | { readonly accept: null }
  | { readonly drop: null };

/** A set element, or a verdict-map element `[key, verdict]`. */
export type SetElement = Expression | readonly [Expression, Verdict];

export type SetKeyType = 'ipv4_addr' | 'ipv6_addr' | 'ifname' | 'inet_proto' | 'inet_service';

export interface BaseChainHook {
  readonly type: 'filter';
  readonly hook: 'forward' | 'prerouting';
  readonly prio: number;
  readonly policy: 'accept';
}

/** An object inside a table. */
type Scoped<T> = { readonly family: TableFamily; readonly table: string } & T;

export type NftObject =
  | { readonly table: TableRef }
  | { readonly chain: Scoped<{ readonly name: string } & Partial<BaseChainHook>> }
  | { readonly rule: Scoped<{ readonly chain: string; readonly expr: readonly Statement[]; readonly comment?: string }> }
  | {
      readonly set: Scoped<{
        readonly name: string;
        /** Absent when the set is only named (flush, delete). */
        readonly type?: SetKeyType | readonly SetKeyType[];
        readonly flags?: readonly 'interval'[];
        readonly elem?: readonly SetElement[];
      }>;
    }
  | {
      readonly map: Scoped<{
        readonly name: string;
        readonly type?: SetKeyType | readonly SetKeyType[];
        readonly map?: 'verdict';
        readonly elem?: readonly SetElement[];
      }>;
    }
  | { readonly counter: Scoped<{ readonly name: string }> }
  | { readonly element: Scoped<{ readonly name: string; readonly elem: readonly SetElement[] }> };

export type NftCommand =
  | { readonly add: NftObject }
  | { readonly delete: NftObject }
  | { readonly flush: NftObject };

/** One atomic batch: write `JSON.stringify(tx)` to a file and run `nft -j -f FILE`. */
export interface NftTransaction {
  readonly nftables: readonly NftCommand[];
}

export function isEmptyTransaction(tx: NftTransaction): boolean {
  return tx.nftables.length === 0;
}

export const l4proto: Expression = { meta: { key: 'l4proto' } };
export const dport: Expression = { payload: { protocol: 'th', field: 'dport' } };
export const iifname: Expression = { meta: { key: 'iifname' } };
/** In the bridge family, `meta protocol` is the frame's EtherType. */
export const etherType: Expression = { meta: { key: 'protocol' } };

export function address(family: 4 | 6, field: 'saddr' | 'daddr'): Expression {
  return { payload: { protocol: family === 4 ? 'ip' : 'ip6', field } };
}

export function setRef(name: string): string {
  return `@${name}`;
}

export function match(left: Expression, right: Expression, op: '==' | '!=' | 'in' = '=='): Statement {
  return { match: { op, left, right } };
}

export const accept: Statement = { accept: null };
export const drop: Statement = { drop: null };
